import { print } from 'graphql';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  ArchiveDocument,
  FilteredHistoryDocument,
  MarkSeenDocument,
  NotificationFieldsFragmentDoc,
  OpenInboxDocument,
  SendNotificationDocument,
  SendNotificationsDocument,
  UpdateNotificationDocument,
  type SendNotificationInput,
} from '../client/graphql.js';
import { storeSendsSql, type StoredSend } from '../src/notifications/send-statement.js';
import { pairForTests } from './helpers/cluster.js';
import { SERVICE, errorCode, ok, send, userSocket } from './helpers/operations.js';
import { query } from './helpers/pg-query.js';
import { nodesOf, type PlanNode } from './helpers/query-plan.js';
import type { TestServer } from './helpers/server.js';
import { Stream } from './helpers/stream.js';

// Grouped notifications ("one entry for a busy thread"): a private send with a groupKey takes
// the place, in each recipient's inbox, of their newest earlier one of the same category and
// groupKey not archived. Every device, on either of two instances, gets the CREATED event with
// `replaces` once; a device resuming from a cursor before both ends with the inbox's list and
// count; concurrent sends and batches leave one entry that stands for all of them.

const pair = pairForTests({ categories: [{ name: 'chat' }, { name: 'mentions' }] });

interface GroupedEvent {
  type: string;
  cursor: string;
  unseenCount: number;
  replaces: string | null;
  notification: { id: string; groupKey: string | null; groupCount: number; seenAt: string | null };
}

const FRAGMENT = print(NotificationFieldsFragmentDoc);
const FIELDS = 'type cursor unseenCount replaces notification { ...NotificationFields }';

/** myNotifications as users write it: an inline literal, a variable not named $after, an alias. */
const SHAPES = [
  {
    name: 'after inline',
    key: 'myNotifications',
    operation: (cursor: string) => ({
      query: `subscription { myNotifications(after: ${JSON.stringify(cursor)}) { ${FIELDS} } }\n${FRAGMENT}`,
      variables: {},
    }),
  },
  {
    name: 'a variable named $from',
    key: 'myNotifications',
    operation: (cursor: string) => ({
      query: `subscription Thread($from: String) { myNotifications(after: $from) { ${FIELDS} } }\n${FRAGMENT}`,
      variables: { from: cursor },
    }),
  },
  {
    name: 'an alias, fields in another order',
    key: 'inbox',
    operation: (cursor: string) => ({
      query: `subscription ($after: String) { inbox: myNotifications(after: $after) { notification { ...NotificationFields } replaces unseenCount cursor type } }\n${FRAGMENT}`,
      variables: { after: cursor },
    }),
  },
];
type Shape = (typeof SHAPES)[number];

async function follow(server: TestServer, user: string, cursor: string, shape: Shape) {
  const socket = await userSocket(server, user);
  const { query, variables } = shape.operation(cursor);
  return new Stream<GroupedEvent>(socket, query, variables, {
    map: (result) => ({
      ...result,
      data: result.data ? (result.data[shape.key] as GroupedEvent) : undefined,
    }),
    onClose: () => void socket.dispose(),
  });
}

const eventsOf = (device: Stream<GroupedEvent>) => device.results.map((result) => result.data!);

async function inboxOf(server: TestServer, user: string) {
  const { inbox } = await ok(server, OpenInboxDocument, {}, user);
  expect(inbox.unseenCount).toBe(inbox.notifications.length);
  return inbox;
}

/** Everything the user can see (ALL, archived included), newest first. */
async function historyOf(server: TestServer, user: string) {
  const { notifications } = await ok(
    server,
    FilteredHistoryDocument,
    { filter: { status: 'ALL' }, first: 100 },
    user,
  );
  return notifications.nodes;
}

const sendTo = (server: TestServer, user: string, input: Partial<SendNotificationInput>) =>
  send(server, { category: 'chat', recipientIds: [user], title: 'message', ...input });

/**
 * What a client holds after applying `events` to an empty list: CREATED adds (and drops what it
 * replaces), SEEN updates. Fails on an event delivered twice.
 */
function clientState(events: GroupedEvent[]) {
  const entries = new Map<string, GroupedEvent['notification']>();
  const cursors = new Set<string>();
  for (const event of events) {
    expect(cursors.has(event.cursor), `event at ${event.cursor} twice`).toBe(false);
    cursors.add(event.cursor);
    if (event.type === 'CREATED') {
      if (event.replaces) entries.delete(event.replaces);
      entries.set(event.notification.id, event.notification);
    } else if (entries.has(event.notification.id)) {
      entries.set(event.notification.id, event.notification);
    }
  }
  return { entries, unseenCount: events.at(-1)?.unseenCount };
}

describe.each(SHAPES)('a thread, followed with $name', (shape) => {
  const user = `threaded-${SHAPES.indexOf(shape)}`;

  it('folds into one entry on two devices on two instances, once each, and resumes exactly', async () => {
    const start = (await inboxOf(pair.a, user)).cursor;
    const phone = await follow(pair.a, user, start, shape);
    const laptop = await follow(pair.b, user, start, shape);
    let received = 0;
    const next = async (type: string, id: string, replaces: string | null, groupCount: number) => {
      received++;
      const inbox = await inboxOf(pair.b, user);
      for (const device of [phone, laptop]) {
        await device.waitForCount(received, 8000);
        const event = eventsOf(device)[received - 1]!;
        expect(event).toMatchObject({ type, replaces, notification: { id, groupCount } });
        expect(event.unseenCount).toBe(inbox.unseenCount);
      }
    };

    const first = (await sendTo(pair.a, user, { groupKey: 'thread-1' })).notification;
    expect(first.groupKey).toBe('thread-1');
    await next('CREATED', first.id, null, 1);
    const second = (await sendTo(pair.b, user, { groupKey: 'thread-1' })).notification;
    await next('CREATED', second.id, first.id, 2);
    // The unseen one it folded was counted: the count stays.
    let inbox = await inboxOf(pair.a, user);
    expect(inbox.notifications.map((n) => [n.id, n.groupCount])).toEqual([[second.id, 2]]);
    expect(eventsOf(phone).at(-1)!.unseenCount).toBe(1);
    expect((await historyOf(pair.a, user)).map((n) => n.id)).toEqual([second.id]);

    await ok(pair.a, MarkSeenDocument, { ids: [second.id] }, user);
    await next('SEEN', second.id, null, 2);
    expect(eventsOf(laptop).at(-1)!.unseenCount).toBe(0);
    // The seen one it folds was not counted: the count goes up by one.
    const third = (await sendTo(pair.a, user, { groupKey: 'thread-1' })).notification;
    await next('CREATED', third.id, second.id, 3);
    expect(eventsOf(laptop).at(-1)!.unseenCount).toBe(1);

    // The laptop goes away; the thread moves on meanwhile; it resumes from its last cursor.
    const lastSeen = eventsOf(laptop).at(-1)!.cursor;
    laptop.close();
    const fourth = (await sendTo(pair.b, user, { groupKey: 'thread-1' })).notification;
    const other = (await sendTo(pair.a, user, { groupKey: 'thread-2' })).notification;
    const back = await follow(pair.b, user, lastSeen, shape);
    await back.waitForCount(2, 8000);
    expect(eventsOf(back).map((e) => [e.notification.id, e.replaces])).toEqual([
      [fourth.id, third.id],
      [other.id, null],
    ]);

    // A device resuming from before all of it gets every event once and ends with the inbox.
    const fresh = await follow(pair.a, user, start, shape);
    await fresh.waitForCount(6, 8000);
    await phone.waitForCount(6, 8000);
    inbox = await inboxOf(pair.b, user);
    expect(inbox.notifications.map((n) => [n.id, n.groupCount])).toEqual([
      [other.id, 1],
      [fourth.id, 4],
    ]);
    for (const device of [fresh, phone]) {
      const state = clientState(eventsOf(device));
      expect([...state.entries.keys()].sort()).toEqual([other.id, fourth.id].sort());
      expect(state.entries.get(fourth.id)!.groupCount).toBe(4);
      expect(state.unseenCount).toBe(inbox.unseenCount);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fresh.results).toHaveLength(6);
    for (const device of [phone, back, fresh]) device.close();
  });
});

describe('a thread changed by its sender', () => {
  it('an UPDATED of a grouped one keeps the groupCount each device shows', async () => {
    const user = 'edited';
    await sendTo(pair.a, user, { groupKey: 'doc' });
    const latest = (await sendTo(pair.a, user, { groupKey: 'doc' })).notification;
    const start = (await inboxOf(pair.b, user)).cursor;
    const device = await follow(pair.b, user, start, SHAPES[2]!);
    // Live once an event has arrived after the replay.
    await sendTo(pair.a, user, { category: 'mentions' });
    await device.waitForCount(1, 8000);
    await ok(
      pair.a,
      UpdateNotificationDocument,
      { id: latest.id, input: { title: 'edited' } },
      SERVICE,
    );
    await device.waitForCount(2, 8000);
    // Live, and replayed from a cursor before it.
    const replayed = await follow(pair.a, user, start, SHAPES[1]!);
    await replayed.waitForCount(2, 8000);
    for (const stream of [device, replayed]) {
      expect(eventsOf(stream)[1]).toMatchObject({
        type: 'UPDATED',
        replaces: null,
        notification: { id: latest.id, title: 'edited', groupCount: 2 },
      });
    }
    const inbox = await inboxOf(pair.a, user);
    expect(inbox.notifications.find((n) => n.id === latest.id)!.groupCount).toBe(2);
    for (const stream of [device, replayed]) stream.close();
  });
});

describe('what is not folded', () => {
  it('an archived earlier one stays archived, and the new one starts a group of its own', async () => {
    const user = 'archiver';
    const first = (await sendTo(pair.a, user, { groupKey: 'build' })).notification;
    await ok(pair.a, ArchiveDocument, { ids: [first.id] }, user);
    const device = await follow(pair.b, user, (await inboxOf(pair.b, user)).cursor, SHAPES[0]!);
    const second = (await sendTo(pair.a, user, { groupKey: 'build' })).notification;
    await device.waitForCount(1, 8000);
    expect(eventsOf(device)[0]).toMatchObject({
      replaces: null,
      unseenCount: 1,
      notification: { id: second.id, groupCount: 1 },
    });
    const history = await historyOf(pair.a, user);
    expect(history.map((n) => [n.id, n.groupCount, n.archivedAt !== null])).toEqual([
      [second.id, 1, false],
      [first.id, 1, true],
    ]);
    device.close();
  });

  it('another category or another groupKey is not folded, nor are ungrouped ones', async () => {
    const user = 'separate';
    const chat = (await sendTo(pair.a, user, { groupKey: 'k' })).notification;
    const mention = (await sendTo(pair.a, user, { groupKey: 'k', category: 'mentions' }))
      .notification;
    const otherKey = (await sendTo(pair.b, user, { groupKey: 'k2' })).notification;
    const plain = (await sendTo(pair.b, user, {})).notification;
    const plain2 = (await sendTo(pair.b, user, {})).notification;
    const inbox = await inboxOf(pair.a, user);
    expect(inbox.notifications.map((n) => [n.id, n.groupCount]).sort()).toEqual(
      [chat, mention, otherKey, plain, plain2].map((n) => [n.id, 1]).sort(),
    );
    expect(plain.groupKey).toBeNull();
  });

  it('folds per recipient: one who archived the earlier one gets a group of one', async () => {
    const [keeper, archiver] = ['keeper', 'tidy'];
    const first = (
      await send(pair.a, {
        category: 'chat',
        recipientIds: [keeper, archiver],
        title: 'm',
        groupKey: 'r',
      })
    ).notification;
    await ok(pair.a, ArchiveDocument, { ids: [first.id] }, archiver);
    const second = (
      await send(pair.b, {
        category: 'chat',
        recipientIds: [keeper, archiver],
        title: 'm',
        groupKey: 'r',
      })
    ).notification;
    expect((await inboxOf(pair.a, keeper)).notifications.map((n) => [n.id, n.groupCount])).toEqual([
      [second.id, 2],
    ]);
    expect(
      (await inboxOf(pair.a, archiver)).notifications.map((n) => [n.id, n.groupCount]),
    ).toEqual([[second.id, 1]]);
  });
});

describe('many at once', () => {
  it('concurrent sends with one groupKey to one user leave one entry standing for all of them', async () => {
    const user = 'busy';
    const device = await follow(pair.a, user, (await inboxOf(pair.a, user)).cursor, SHAPES[1]!);
    const sent = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        sendTo(i % 2 ? pair.a : pair.b, user, { groupKey: 'hot', title: `m${i}` }),
      ),
    );
    const ids = sent.map((result) => result.notification.id);
    const inbox = await inboxOf(pair.b, user);
    expect(inbox.notifications).toHaveLength(1);
    expect(inbox.notifications[0]!.groupCount).toBe(24);
    expect(inbox.unseenCount).toBe(1);
    await device.waitForCount(24, 8000);
    const events = eventsOf(device);
    // Each but the last is replaced exactly once, in the order they were stored.
    expect(events.map((e) => e.notification.groupCount)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    const replaced = events.flatMap((e) => (e.replaces ? [e.replaces] : []));
    expect(new Set(replaced).size).toBe(23);
    expect([...replaced, inbox.notifications[0]!.id].sort()).toEqual([...ids].sort());
    expect(events.every((e) => e.unseenCount === 1)).toBe(true);
    expect(clientState(events).entries.size).toBe(1);
    device.close();
  });

  it('a sendNotifications batch with repeated groupKeys folds within the batch, in order', async () => {
    const user = 'batched';
    await sendTo(pair.a, user, { groupKey: 'x' });
    const device = await follow(pair.b, user, (await inboxOf(pair.b, user)).cursor, SHAPES[2]!);
    const input = (groupKey: string, title: string) => ({
      category: 'chat',
      recipientIds: [user],
      title,
      groupKey,
    });
    const { sendNotifications } = await ok(
      pair.a,
      SendNotificationsDocument,
      { inputs: [input('x', '1'), input('y', '2'), input('x', '3'), input('x', '4')] },
      SERVICE,
    );
    const [x1, y, x3, x4] = sendNotifications.map((result) => result.notification.id);
    const inbox = await inboxOf(pair.a, user);
    expect(inbox.notifications.map((n) => [n.id, n.groupCount])).toEqual([
      [x4, 4],
      [y, 1],
    ]);
    await device.waitForCount(4, 8000);
    const events = eventsOf(device);
    expect(events.map((e) => [e.notification.id, e.notification.groupCount])).toEqual([
      [x1, 2],
      [y, 1],
      [x3, 3],
      [x4, 4],
    ]);
    expect(events.slice(1).map((e) => e.replaces)).toEqual([null, x1, x3]);
    expect(events.at(-1)!.unseenCount).toBe(inbox.unseenCount);
    expect(inbox.unseenCount).toBe(2);
    device.close();
  });
});

describe('refused', () => {
  it('a groupKey on a public send, or an empty or over-long one, stores nothing', async () => {
    const count = async () =>
      (
        await query<{ n: number }>(
          pair.database.url,
          'SELECT count(*)::int AS n FROM "Notification"',
        )
      )[0]!.n;
    const before = await count();
    const attempt = (input: Partial<SendNotificationInput>) =>
      errorCode(
        pair.a,
        SendNotificationDocument,
        { input: { category: 'chat', title: 't', recipientIds: ['r'], ...input } },
        SERVICE,
      );
    expect(await attempt({ recipientIds: null, public: true, groupKey: 'g' })).toBe(
      'BAD_USER_INPUT',
    );
    expect(await attempt({ groupKey: '' })).toBe('BAD_USER_INPUT');
    expect(await attempt({ groupKey: 'g'.repeat(256) })).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(before);
  });
});

describe('the send statement', () => {
  it("finds each recipient's earlier one through Receipt_group_idx", async () => {
    const send: StoredSend = {
      id: '00000000-0000-4000-8000-000000000001',
      sender: 'test',
      idempotencyKey: null,
      category: 'chat',
      priority: 'NORMAL',
      requireAck: false,
      batchWindowSeconds: null,
      public: false,
      title: 't',
      body: null,
      data: null,
      icon: null,
      actionUrl: null,
      templateKey: null,
      groupKey: 'thread',
      expiresAt: null,
      deleteAt: new Date(Date.now() + 60_000),
      recipients: ['u1', 'u2'],
      streams: ['user:u1', 'user:u2'],
    };
    const statement = storeSendsSql([send]);
    const client = new pg.Client({ connectionString: pair.database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      // The test database is small: without this the planner reads whole tables.
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${statement.text}`,
        statement.values,
      );
      const receiptScans = nodesOf(rows[0]!['QUERY PLAN'][0].Plan).filter(
        (node) => node['Relation Name'] === 'Receipt',
      );
      expect(receiptScans.map((node) => node['Index Name'])).toContain('Receipt_group_idx');
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });
});
