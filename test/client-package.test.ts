import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOSE as CLIENT_CLOSE,
  createInbox,
  type EventOrigin,
  type Inbox,
  type InboxEvents,
  type InboxState,
  type NotificationEvent,
} from '../packages/client/src/index.js';
import { pruneLogs } from '../src/notifications/retention.js';
import { userStream } from '../src/notifications/types.js';
import { CLOSE as SERVICE_CLOSE } from '../src/sockets/close-codes.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { sleep, until } from './helpers/wait.js';

// packages/client in Node against the real service, through a TCP proxy a test can cut to drop
// the socket the way a network does.

let server: TestServer;
let proxy: TcpProxy;
const opened: Inbox[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'security', requireAck: true });
  await upsertCategory(server, { name: 'likes', batchWindowSeconds: 1 });
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((inbox) => inbox.close()));
});
afterAll(async () => {
  await proxy.close();
  await server.stop();
});

interface Opened {
  inbox: Inbox;
  /** Every event the store received, repeats included. */
  events: NotificationEvent[];
  toasts: string[];
  snapshots: number;
  tokenCalls: () => number;
  /** What getToken hands out from now on: a fresh valid token, or one the service refuses. */
  tokens: { valid: boolean };
}

function open(userId: string): Opened {
  let calls = 0;
  const tokens = { valid: true };
  const inbox = createInbox({
    url: `http://127.0.0.1:${proxy.port}/graphql`,
    // A new token each time (its own session id), as an identity provider refreshes one.
    getToken: () => {
      calls++;
      return tokens.valid ? server.token(userId, { sessionId: `s${calls}` }) : 'not-a-token';
    },
    webSocketImpl: WebSocket,
    // Short, so a client that retried when it must not would show it within the test.
    retryDelay: () => 20,
  });
  opened.push(inbox);
  const result: Opened = {
    inbox,
    events: [],
    toasts: [],
    snapshots: 0,
    tokenCalls: () => calls,
    tokens,
  };
  inbox.on('event', (event) => result.events.push(event));
  inbox.on('notification', (notification) => result.toasts.push(notification.id));
  inbox.on('snapshot', () => result.snapshots++);
  return result;
}

const state = (inbox: Inbox, accept: (state: InboxState) => boolean, what: string) =>
  until(() => inbox.getState(), accept, 10_000, what);

const sendTo = async (userId: string, title: string, category = 'info') =>
  (await send(server, { category, recipientIds: [userId], title })).notification.id;

/** The ids of the CREATED events received, in order, repeats included. */
const createdIds = (events: NotificationEvent[]) =>
  events.filter((e) => e.type === 'CREATED').map((e) => e.notification.id);

describe('createInbox', () => {
  it('loads the snapshot, follows live events and keeps the count exact', async () => {
    const before = [await sendTo('ada', 'one'), await sendTo('ada', 'two')];
    const { inbox, toasts, events } = open('ada');
    await state(inbox, (s) => s.status === 'live' && s.unseenCount === 2, 'the snapshot, live');
    expect(inbox.getState().notifications.map((n) => n.id)).toEqual([...before].reverse());
    expect(inbox.getState().cursor).toEqual(expect.any(String));

    const live = await sendTo('ada', 'three');
    await state(inbox, (s) => s.unseenCount === 3, 'the live notification counted');
    expect(toasts).toEqual([live]);
    expect(inbox.getState().notifications[0]?.id).toBe(live);
    expect(inbox.getState().cursor).toBe(events.at(-1)?.cursor);

    await inbox.markSeen([before[0]!]);
    await state(inbox, (s) => s.unseenCount === 2, 'the count after markSeen');
    const ack = await sendTo('ada', 'sign-in', 'security');
    await state(inbox, (s) => s.unseenCount === 3, 'the require-ack notification counted');
    await inbox.markSeen([ack]);
    // Seen is not enough for a require-ack one: it stays counted until acknowledged.
    await state(inbox, (s) => s.notifications[0]?.seenAt !== null, 'the require-ack one seen');
    expect(inbox.getState().unseenCount).toBe(3);
    await inbox.acknowledge(ack);
    await state(inbox, (s) => s.unseenCount === 2, 'the count after acknowledge');
    expect(await inbox.markAllSeen()).toBe(2);
    await state(inbox, (s) => s.unseenCount === 0, 'the count after markAllSeen');
    // ALL_SEEN is one event for everything: every card the store holds is seen with it.
    expect(inbox.getState().notifications.filter((n) => n.seenAt === null)).toEqual([]);

    expect(await inbox.setMuted('info', true)).toEqual({ category: 'info', muted: true });
    expect(await inbox.setMuted('info', false)).toEqual({ category: 'info', muted: false });
  });

  it("loads every category with the user's choice, and keeps it current after setMuted", async () => {
    const { inbox } = open('pia');
    expect(inbox.getState().preferences).toBeNull();
    await inbox.setMuted('likes', true);
    const byName = (choices: { category: string }[] | null) =>
      [...(choices ?? [])].sort((a, b) => a.category.localeCompare(b.category));
    const loaded = await inbox.loadPreferences();
    expect(byName(loaded)).toEqual([
      { category: 'info', muted: false, canMute: true },
      { category: 'likes', muted: true, canMute: true },
      { category: 'security', muted: false, canMute: false },
    ]);
    expect(inbox.getState().preferences).toEqual(loaded);
    // The choice shows at once, as a checkbox that moves when clicked...
    const muting = inbox.setMuted('info', true);
    expect(inbox.getState().preferences?.find((p) => p.category === 'info')?.muted).toBe(true);
    await muting;
    await inbox.setMuted('likes', false);
    // ...and goes back when the service refuses it (a require-ack category cannot be muted).
    const refused = inbox.setMuted('security', true);
    expect(inbox.getState().preferences?.find((p) => p.category === 'security')?.muted).toBe(true);
    await expect(refused).rejects.toThrow();
    expect(byName(inbox.getState().preferences)).toEqual([
      { category: 'info', muted: true, canMute: true },
      { category: 'likes', muted: false, canMute: true },
      { category: 'security', muted: false, canMute: false },
    ]);
  });

  it('pages the whole history with loadMore, seen ones too', async () => {
    const ids = [await sendTo('bea', 'h1'), await sendTo('bea', 'h2'), await sendTo('bea', 'h3')];
    const { inbox } = open('bea');
    await state(inbox, (s) => s.status === 'live', 'live');
    await inbox.markSeen([ids[0]!]);
    await inbox.loadMore(2);
    expect(inbox.getState().history.map((n) => n.id)).toEqual([ids[2], ids[1]]);
    expect(inbox.getState().hasMore).toBe(true);
    await inbox.loadMore(2);
    expect(inbox.getState().history.map((n) => n.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(inbox.getState().history[2]?.seenAt).not.toBeNull();
    expect(inbox.getState().hasMore).toBe(false);
  });

  it('resumes from the latest cursor after every dropped socket: nothing missed, nothing twice', async () => {
    const { inbox, events, tokenCalls } = open('cyd');
    await state(inbox, (s) => s.status === 'live', 'live');
    const sent: string[] = [];
    for (let drop = 0; drop < 2; drop++) {
      sent.push(await sendTo('cyd', `before drop ${drop}`));
      await until(
        () => createdIds(events),
        (ids) => ids.length === sent.length,
        10_000,
        'live',
      );
      const tokensBefore = tokenCalls();
      await proxy.cut();
      await state(inbox, (s) => s.status === 'reconnecting', 'the drop noticed');
      sent.push(await sendTo('cyd', `while away ${drop} a`));
      sent.push(await sendTo('cyd', `while away ${drop} b`));
      await proxy.restore();
      await until(
        () => createdIds(events),
        (ids) => ids.length >= sent.length,
        10_000,
        `the ${sent.length} notifications sent, after drop ${drop}`,
      );
      await state(inbox, (s) => s.status === 'live', 'live again');
      // The reconnect asked for a token again rather than reuse the first one.
      expect(tokenCalls()).toBeGreaterThan(tokensBefore);
    }
    sent.push(await sendTo('cyd', 'after'));
    await state(inbox, (s) => s.unseenCount === sent.length, 'the last one counted');
    expect(createdIds(events)).toEqual(sent);
    const cursors = events.map((e) => e.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(inbox.getState().notifications.map((n) => n.id)).toEqual([...sent].reverse());
    expect(inbox.getState().unseenCount).toBe(sent.length);
  });

  it('stops retrying on 4401 until reconnect(), then starts again with a new token', async () => {
    const opened = open('dee');
    const { inbox, tokens, tokenCalls } = opened;
    const before = await sendTo('dee', 'before');
    await state(inbox, (s) => s.status === 'live', 'live');
    tokens.valid = false;
    await proxy.cut();
    await proxy.restore();
    await state(inbox, (s) => s.status === 'expired', 'expired after 4401');
    // A client that retried would ask for a token and connect every 20 ms here.
    const calls = tokenCalls();
    const accepted = proxy.accepted();
    await sleep(500);
    expect(tokenCalls()).toBe(calls);
    expect(proxy.accepted()).toBe(accepted);

    const during = await sendTo('dee', 'while expired');
    tokens.valid = true;
    inbox.reconnect();
    await state(inbox, (s) => s.status === 'live' && s.unseenCount === 2, 'live with a new token');
    expect(inbox.getState().notifications.map((n) => n.id)).toEqual([during, before]);
    const after = await sendTo('dee', 'after');
    await state(inbox, (s) => s.notifications[0]?.id === after, 'a live event after reconnect()');
    expect(opened.snapshots).toBe(2);
  });

  it('names the store and counts its emissions in every listener call, so a repeat shows', async () => {
    const stores = [open('lou'), open('lou')].map(({ inbox }) => {
      const heard: (EventOrigin & { name: keyof InboxEvents })[] = [];
      for (const name of ['snapshot', 'event', 'notification'] as const) {
        inbox.on(name, (_value, origin) => heard.push({ name, ...origin }));
      }
      return { inbox, heard };
    });
    for (const { inbox } of stores) await state(inbox, (s) => s.status === 'live', 'live');
    await sendTo('lou', 'to both stores');
    for (const { inbox } of stores) await state(inbox, (s) => s.unseenCount === 1, 'counted');
    const [first, second] = stores.map(({ heard }) => heard);
    expect(first!.map(({ name }) => name).sort()).toEqual(['event', 'notification', 'snapshot']);
    // One name per store, all through; each emission the next number of its store.
    expect(new Set(first!.map(({ store }) => store)).size).toBe(1);
    expect(first!.map(({ seq }) => seq)).toEqual([1, 2, 3]);
    expect(second!.map(({ seq }) => seq)).toEqual([1, 2, 3]);
    expect(second![0]!.store).not.toBe(first![0]!.store);
  });

  it('takes each notification of a DIGEST into the list, with a toast each', async () => {
    const { inbox, events, toasts } = open('gus');
    await state(inbox, (s) => s.status === 'live', 'live');
    const likes = [await sendTo('gus', 'like 1', 'likes'), await sendTo('gus', 'like 2', 'likes')];
    await state(inbox, (s) => s.unseenCount === 2, 'the digest counted');
    expect(events.map((e) => e.type)).toEqual(['DIGEST']);
    expect(inbox.getState().notifications.map((n) => n.id)).toEqual([...likes].reverse());
    expect(toasts.sort()).toEqual([...likes].sort());
  });

  it('reloads the snapshot when its cursor has expired (CURSOR_EXPIRED)', async () => {
    const opened = open('eve');
    const { inbox, events } = opened;
    // A reload is the expected answer to CURSOR_EXPIRED, not a failure to show the user.
    const problems: string[] = [];
    inbox.subscribe((s) => s.problem && problems.push(s.problem));
    await state(inbox, (s) => s.status === 'live', 'live');
    const first = await sendTo('eve', 'first');
    await until(
      () => createdIds(events),
      (ids) => ids.length === 1,
      10_000,
      'the first event',
    );
    await proxy.cut();
    const missed = [await sendTo('eve', 'pruned a'), await sendTo('eve', 'pruned b')];
    // The events after the inbox's cursor age past the retention and are pruned.
    await server.app.services.database.$executeRaw`
      UPDATE "Event" SET "createdAt" = now() - interval '400 days' WHERE stream = ${userStream('eve')}`;
    await pruneLogs(server.app.services);
    await proxy.restore();
    await until(
      () => opened.snapshots,
      (n) => n === 2,
      10_000,
      'the snapshot reloaded',
    );
    await state(inbox, (s) => s.status === 'live' && s.unseenCount === 3, 'live, all counted');
    expect(inbox.getState().notifications.map((n) => n.id)).toEqual([...missed.reverse(), first]);
    const later = await sendTo('eve', 'later');
    await state(inbox, (s) => s.unseenCount === 4, 'a live event from the new cursor');
    expect(createdIds(events)).toEqual([first, later]);
    expect(problems).toEqual([]);
  });

  it('stops on a close the table calls final (1009), saying why, instead of retrying', async () => {
    // A service that takes smaller messages than the store's subscribe: it closes with 1009.
    const strict = await startTestServer({ env: { WS_MAX_PAYLOAD_BYTES: '500' } });
    try {
      let calls = 0;
      const inbox = createInbox({
        url: strict.url,
        getToken: () => (calls++, strict.token('hal')),
        webSocketImpl: WebSocket,
        retryDelay: () => 20,
      });
      opened.push(inbox);
      const failed = await state(inbox, (s) => s.status === 'failed', 'failed on 1009');
      expect(failed.problem).toContain(`(${CLIENT_CLOSE.messageTooBig.code})`);
      // A client that retried would connect, and ask for a token, every 20 ms here.
      const callsAtFailure = calls;
      await sleep(300);
      expect(calls).toBe(callsAtFailure);
      expect(inbox.getState().status).toBe('failed');
      await inbox.close();
    } finally {
      await strict.stop();
    }
  });

  it('ships the service close-code table unchanged', () => {
    expect(CLIENT_CLOSE).toEqual(SERVICE_CLOSE);
  });
});
