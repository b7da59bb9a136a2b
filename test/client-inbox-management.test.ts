import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createInbox,
  InboxError,
  type Inbox,
  type InboxState,
  type Notification,
  type NotificationEvent,
} from '../packages/client/src/index.js';
import { SERVICE, ok, send, upsertCategory } from './helpers/operations.js';
import { RecallNotificationDocument, UpdateNotificationDocument } from '../client/graphql.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { until } from './helpers/wait.js';

// packages/client's inbox management against the real service: two stores of one user (two
// devices) stay in step, list and per-category counts, through every operation either makes,
// and one that lost its socket catches up from its cursor. Each step is compared with what the
// service itself answers (`inbox`, from one snapshot).

let server: TestServer;
let proxy: TcpProxy;
const opened: Inbox[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'billing', priority: 'HIGH' });
  await upsertCategory(server, { name: 'security', requireAck: true, priority: 'URGENT' });
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((inbox) => inbox.close()));
});
afterAll(async () => {
  await proxy.close();
  await server.stop();
});

interface Device {
  inbox: Inbox;
  events: NotificationEvent[];
  toasts: string[];
  snapshots: number;
}

/** A store for `userId`, straight to the service or (`throughProxy`) through the cuttable proxy. */
function device(userId: string, { throughProxy = false } = {}): Device {
  const url = throughProxy ? `http://127.0.0.1:${proxy.port}/graphql` : server.url;
  const inbox = createInbox({
    url,
    getToken: () => server.token(userId),
    webSocketImpl: WebSocket,
    retryDelay: () => 20,
  });
  opened.push(inbox);
  const result: Device = { inbox, events: [], toasts: [], snapshots: 0 };
  inbox.on('event', (event) => result.events.push(event));
  inbox.on('notification', (n) => result.toasts.push(n.id));
  inbox.on('snapshot', () => result.snapshots++);
  return result;
}

const sendTo = async (userId: string, title: string, category = 'info') =>
  (await send(server, { category, recipientIds: [userId], title })).notification.id;

const needsAttention = (n: Notification) => !n.seenAt || (n.requireAck && !n.acknowledgedAt);

/** What an inbox shows: what needs attention, the counts, what is snoozed. */
interface Shown {
  unseenCount: number;
  counts: Record<string, number>;
  unseen: string[];
  snoozed: string[];
}

const shown = (state: InboxState): Shown => ({
  unseenCount: state.unseenCount,
  counts: state.categoryCounts,
  unseen: state.notifications.filter(needsAttention).map((n) => n.id),
  snoozed: state.snoozed.map((n) => n.id),
});

/** The same, as the service answers it now. */
async function serviceShows(userId: string): Promise<Shown> {
  const { data, errors } = await server.request<{
    inbox: {
      notifications: { id: string }[];
      unseenCount: number;
      counts: { category: string; unseen: number }[];
    };
    snoozed: { nodes: { id: string }[] };
  }>(
    `{ inbox { notifications { id } unseenCount counts { category unseen } }
       snoozed: notifications(filter: { status: SNOOZED }, first: 100) { nodes { id } } }`,
    {},
    userId,
  );
  expect(errors).toBeUndefined();
  return {
    unseenCount: data!.inbox.unseenCount,
    counts: Object.fromEntries(data!.inbox.counts.map((c) => [c.category, c.unseen])),
    unseen: data!.inbox.notifications.map((n) => n.id),
    snoozed: data!.snoozed.nodes.map((n) => n.id),
  };
}

/** Every device shows what the service says (and nothing archived or snoozed in its list). */
async function inStep(userId: string, devices: Device[], what: string): Promise<Shown> {
  const expected = await serviceShows(userId);
  for (const [index, { inbox }] of devices.entries()) {
    await until(
      () => shown(inbox.getState()),
      (s) => JSON.stringify(s) === JSON.stringify(expected),
      10_000,
      `device ${index + 1} in step after ${what}: ${JSON.stringify(expected)}`,
    );
    const listed = inbox.getState().notifications;
    expect(listed.filter((n) => n.archivedAt || n.snoozedUntil)).toEqual([]);
    // The counts always add up to the service's total.
    const sum = Object.values(inbox.getState().categoryCounts).reduce((a, b) => a + b, 0);
    expect(sum).toBe(inbox.getState().unseenCount);
  }
  return expected;
}

const live = (d: Device) =>
  until(
    () => d.inbox.getState(),
    (s) => s.status === 'live',
    10_000,
    'live',
  );

describe('createInbox: a service edits and recalls what it sent', () => {
  it('shows the new content on both devices, and drops a recalled one with its count', async () => {
    const [laptop, phone] = [device('noa'), device('noa')];
    await Promise.all([live(laptop), live(phone)]);
    const edited = await sendTo('noa', 'Build 41 failed');
    const recalled = await sendTo('noa', 'Sent by mistake', 'billing');
    await inStep('noa', [laptop, phone], 'two sends');

    await ok(
      server,
      UpdateNotificationDocument,
      { id: edited, input: { title: 'Build 41 fixed', body: 'all green' } },
      SERVICE,
    );
    for (const { inbox } of [laptop, phone]) {
      await until(
        () => inbox.getState().notifications.find((n) => n.id === edited),
        (n) => n?.title === 'Build 41 fixed' && n.body === 'all green',
        10_000,
        'the edited content',
      );
    }
    await inStep('noa', [laptop, phone], 'an edit (no count change)');

    await ok(server, RecallNotificationDocument, { id: recalled }, SERVICE);
    const after = await inStep('noa', [laptop, phone], 'a recall');
    expect(after.unseen).toEqual([edited]);
    for (const { inbox } of [laptop, phone]) {
      expect(inbox.getState().notifications.map((n) => n.id)).not.toContain(recalled);
    }
  });
});

describe('createInbox: threads', () => {
  it('shows one entry per thread on both devices, with its groupCount, the count up by one at most', async () => {
    const [laptop, phone] = [device('oli'), device('oli')];
    await Promise.all([live(laptop), live(phone)]);
    const thread = (title: string) =>
      send(server, { category: 'info', recipientIds: ['oli'], title, groupKey: 'pr-7' });
    await thread('Ana commented');
    await inStep('oli', [laptop, phone], 'the first of a thread');
    const loaded = [laptop.snapshots, phone.snapshots];
    await thread('Ben commented');
    const last = (await thread('Cy commented')).notification.id;
    const after = await inStep('oli', [laptop, phone], 'two more of the thread');
    expect(after.unseen).toEqual([last]);
    expect(after.unseenCount).toBe(1);
    for (const { inbox } of [laptop, phone]) {
      expect(inbox.getState().notifications.map((n) => [n.id, n.groupCount])).toEqual([[last, 3]]);
    }
    // From the events alone: no snapshot was reloaded to put the counts right.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([laptop.snapshots, phone.snapshots]).toEqual(loaded);
  });
});

describe('createInbox: inbox management on two devices of one user', () => {
  it('loads the counts per category from the inbox query, each category there, 0 included', async () => {
    await sendTo('lea', 'one');
    await sendTo('lea', 'two', 'billing');
    const phone = device('lea');
    await live(phone);
    expect(phone.inbox.getState().categoryCounts).toEqual({ info: 1, billing: 1, security: 0 });
    await inStep('lea', [phone], 'the snapshot');
  });

  it('keeps list and per-category counts exact on both through archive, unarchive, markSeen, markUnseen, snooze, archiveAll', async () => {
    const [laptop, phone] = [device('mia'), device('mia')];
    await Promise.all([live(laptop), live(phone)]);
    const info1 = await sendTo('mia', 'info 1');
    const info2 = await sendTo('mia', 'info 2');
    const bill = await sendTo('mia', 'invoice', 'billing');
    const ack = await sendTo('mia', 'new sign-in', 'security');
    let now = await inStep('mia', [laptop, phone], 'four sends');
    expect(now.counts).toEqual({ info: 2, billing: 1, security: 1 });

    await laptop.inbox.archive([info1]);
    // Shown at once on the device that archived it.
    expect(laptop.inbox.getState().notifications.map((n) => n.id)).not.toContain(info1);
    now = await inStep('mia', [laptop, phone], 'archive');
    expect(now.counts.info).toBe(1);

    await phone.inbox.unarchive([info1]);
    now = await inStep('mia', [laptop, phone], 'unarchive');
    expect(now.counts.info).toBe(2);

    await laptop.inbox.markSeen([bill]);
    now = await inStep('mia', [laptop, phone], 'markSeen');
    expect(now.counts.billing).toBe(0);
    await phone.inbox.markUnseen([bill]);
    now = await inStep('mia', [laptop, phone], 'markUnseen');
    expect(now.counts.billing).toBe(1);

    // A require-ack one cannot be dismissed unanswered: refused, nothing changed.
    const refused = await laptop.inbox.archive([ack]).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InboxError);
    expect((refused as InboxError).code).toBe('ACKNOWLEDGEMENT_REQUIRED');
    await inStep('mia', [laptop, phone], 'a refused archive');

    // Snoozed: out of the list and the counts on both, and back on both when it is due.
    await phone.inbox.snooze(info2, new Date(Date.now() + 2500));
    now = await inStep('mia', [laptop, phone], 'snooze');
    expect(now.snoozed).toEqual([info2]);
    expect(now.counts.info).toBe(1);
    for (const { inbox } of [laptop, phone]) {
      await until(
        () => inbox.getState().notifications.map((n) => n.id),
        (ids) => ids.includes(info2),
        10_000,
        'the snoozed one back',
      );
    }
    now = await inStep('mia', [laptop, phone], 'UNSNOOZED');
    expect(now.counts.info).toBe(2);
    expect(now.snoozed).toEqual([]);
    // Back in front of the user: a toast on each device, as when it arrived.
    for (const d of [laptop, phone]) expect(d.toasts.filter((id) => id === info2)).toHaveLength(2);
    for (const d of [laptop, phone]) {
      expect(d.events.filter((e) => e.type === 'UNSNOOZED').map((e) => e.notification.id)).toEqual([
        info2,
      ]);
    }

    // Clear all, for one tab's filter, then for everything (the require-ack one stays).
    expect(await laptop.inbox.archiveAll({ categories: ['info'] })).toBe(2);
    now = await inStep('mia', [laptop, phone], 'archiveAll of info');
    expect(now.counts).toEqual({ info: 0, billing: 1, security: 1 });
    expect(await phone.inbox.archiveAll()).toBe(1);
    now = await inStep('mia', [laptop, phone], 'archiveAll');
    expect(now.counts).toEqual({ info: 0, billing: 0, security: 1 });
    expect(now.unseen).toEqual([ack]);
    await laptop.inbox.acknowledge(ack);
    now = await inStep('mia', [laptop, phone], 'acknowledge');
    expect(now.unseenCount).toBe(0);

    // A live one after all that still lands in the right tab on both.
    const later = await sendTo('mia', 'later', 'billing');
    now = await inStep('mia', [laptop, phone], 'a send after clear all');
    expect(now.unseen).toEqual([later]);
    expect(now.counts.billing).toBe(1);
  });

  it('keeps the seen cards it shows through mark all seen, and drops what clear all archived', async () => {
    const d = device('ned');
    await live(d);
    const a = await sendTo('ned', 'a');
    const b = await sendTo('ned', 'b', 'billing');
    await inStep('ned', [d], 'two sends');
    expect(await d.inbox.markAllSeen()).toBe(2);
    await inStep('ned', [d], 'markAllSeen');
    expect(d.inbox.getState().notifications.map((n) => [n.id, n.seenAt !== null])).toEqual([
      [b, true],
      [a, true],
    ]);
    expect(await d.inbox.archiveAll({ categories: ['billing'] })).toBe(1);
    await until(
      () => d.inbox.getState().notifications.map((n) => n.id),
      (ids) => ids.length === 1,
      10_000,
      'the billing one gone',
    );
    expect(d.inbox.getState().notifications.map((n) => n.id)).toEqual([a]);
  });

  it('a device whose socket dropped catches up on every change made meanwhile, from its cursor', async () => {
    const desk = device('ora');
    const away = device('ora', { throughProxy: true });
    await Promise.all([live(desk), live(away)]);
    const ids = [
      await sendTo('ora', 'one'),
      await sendTo('ora', 'two'),
      await sendTo('ora', 'three', 'billing'),
    ];
    await inStep('ora', [desk, away], 'three sends');

    await proxy.cut();
    await until(
      () => away.inbox.getState().status,
      (s) => s === 'reconnecting',
      10_000,
      'the drop noticed',
    );
    await desk.inbox.archive([ids[0]!]);
    await desk.inbox.markSeen([ids[2]!]);
    await desk.inbox.markUnseen([ids[2]!]);
    await desk.inbox.snooze(ids[1]!, new Date(Date.now() + 1500));
    const during = await sendTo('ora', 'while away', 'billing');
    await inStep('ora', [desk], 'the changes made while the other was away');
    // Due while the other device is still away: its UNSNOOZED waits in the log too.
    await until(
      () => desk.inbox.getState().snoozed.length,
      (n) => n === 0,
      10_000,
      'the snooze over',
    );
    await proxy.restore();
    await live(away);
    const now = await inStep('ora', [desk, away], 'the reconnect');
    expect(now.counts).toEqual({ info: 1, billing: 2, security: 0 });
    expect(now.unseen).toEqual([during, ids[2], ids[1]]);
    // Caught up by replay from its cursor, not by loading a new snapshot.
    expect(away.snapshots).toBe(1);
    expect(away.events.map((e) => e.type)).toEqual([
      'CREATED',
      'CREATED',
      'CREATED',
      'ARCHIVED',
      'SEEN',
      'UNSEEN',
      'SNOOZED',
      'CREATED',
      'UNSNOOZED',
    ]);
    const cursors = away.events.map((e) => e.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
  });
});
