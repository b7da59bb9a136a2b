import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventCursorDocument,
  MarkSeenDocument,
  MyNotificationsDocument,
} from '../client/graphql.js';
import {
  advance,
  eventsAfter,
  eventsAfterSql,
  eventsBetween,
  parseCursor,
  type Cursor,
} from '../src/notifications/event-log.js';
import { deleteDueNotifications, pruneLogs } from '../src/notifications/retention.js';
import { PUBLIC_STREAM, userStream } from '../src/notifications/types.js';
import { follow, ok, send, subscribe, upsertCategory, userSocket } from './helpers/operations.js';
import { planNodes } from './helpers/query-plan.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// Resuming from a cursor: the replay reads the log through each stream's index, merges the
// public stream and the user's own in log order, and never pretends to be whole when it is not.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;
const cursorOf = async (userId: string) =>
  parseCursor((await ok(server, EventCursorDocument, {}, userId)).eventCursor);

describe('the replay statement', () => {
  beforeAll(async () => {
    // A crowded log: 200,000 events of 2,000 other users, as after months of traffic.
    await database().$executeRaw`
      INSERT INTO "Event" (stream, seq, type, "notificationId")
      SELECT 'user:crowd-' || (g % 2000), g / 2000 + 1, 'CREATED', gen_random_uuid()
      FROM generate_series(0, 199999) AS g`;
    await database().$executeRaw`ANALYZE "Event"`;
  });

  it('reads each stream through its (stream, seq) index, never a scan of the whole log', async () => {
    await send(server, { category: 'info', recipientIds: ['nora'], title: 'one' });
    const streams = [PUBLIC_STREAM, userStream('nora')];
    // From the start of both streams, and from their heads (nothing to return: the worst case
    // for a walk of the primary key, which then reads every event to find none).
    const cursors = [{ public: 0n, user: 0n }, await cursorOf('nora')];
    // Planned for these values, and as the generic plan a prepared statement ends up with.
    for (const [cursor, planMode] of cursors.flatMap((c) => [
      [c, 'auto'] as const,
      [c, 'force_generic_plan'] as const,
    ])) {
      const nodes = await planNodes(database(), eventsAfterSql(streams, cursor, 500), planMode);
      const where = `${planMode} plan from ${cursor.public}.${cursor.user}`;
      // Each stream's half reads the log's days (its partitions) through their (stream, seq)
      // index (in order, or as a bitmap when the planner expects a few rows), never by the
      // primary key, and scans sequentially only days that hold no events (the coming ones).
      const scans = nodes.filter((node) => node['Relation Name']?.startsWith('Event_'));
      expect(scans.length, where).toBeGreaterThanOrEqual(2);
      for (const scan of scans.filter((node) => node['Node Type'] === 'Seq Scan')) {
        const [{ events }] = await database().$queryRawUnsafe<[{ events: number }]>(
          `SELECT count(*)::int AS events FROM "${scan['Relation Name']}"`,
        );
        expect(events, `${where}: a sequential scan of ${scan['Relation Name']}`).toBe(0);
      }
      const indexes = nodes.flatMap((node) => node['Index Name'] ?? []);
      expect(indexes.length, where).toBeGreaterThanOrEqual(2);
      for (const index of indexes) expect(index, where).toMatch(/^Event_.*_stream_seq_idx$/);
    }
  });

  it('merges the public stream and the user stream in log order, page after page', async () => {
    const start = await cursorOf('olga');
    for (let i = 0; i < 4; i++) {
      await send(server, { category: 'info', recipientIds: ['olga'], title: `private ${i}` });
      await send(server, { category: 'info', public: true, title: `public ${i}` });
    }
    const first = (await send(server, { category: 'info', recipientIds: ['olga'], title: 'x' }))
      .notification.id;
    await ok(server, MarkSeenDocument, { ids: [first] }, 'olga');

    const streams = [PUBLIC_STREAM, userStream('olga')];
    const expected = (
      await database().$queryRaw<{ id: bigint }[]>`
        SELECT id FROM "Event"
        WHERE (stream = ${PUBLIC_STREAM} AND seq > ${start.public})
           OR (stream = ${userStream('olga')} AND seq > ${start.user})
        ORDER BY id`
    ).map((row) => row.id);
    expect(expected).toHaveLength(10);
    for (const pageSize of [1, 2, 3, 500]) {
      const read: bigint[] = [];
      let cursor: Cursor = start;
      for (;;) {
        const page = await eventsAfter(database(), 'olga', streams, cursor, pageSize);
        for (const event of page) {
          read.push(event.id);
          cursor = advance(cursor, event);
        }
        if (page.length < pageSize) break;
      }
      expect(read, `page size ${pageSize}`).toEqual(expected);
    }

    // And what a resuming subscriber receives is that order.
    const resumed = await follow(server, 'olga', `${start.public}.${start.user}`);
    const results = await resumed.waitForCount(10);
    const replayed = results.map((result) => result.data!.myNotifications);
    const logged = await database().event.findMany({
      where: { id: { in: expected } },
      orderBy: { id: 'asc' },
    });
    expect(replayed.map((event) => [event.type, event.notification.id])).toEqual(
      logged.map((event) => [event.type, event.notificationId]),
    );
  });
  it('reads a gap a page at a time: a subscriber far behind gets a bounded read, in seq order', async () => {
    // A gap of 100 events (the crowd's streams hold 100 each), read 30 at a time.
    const page = await eventsBetween(database(), 'crowd-7', 'user:crowd-7', 0n, 101n, 30);
    expect(page.map((event) => event.seq)).toEqual(
      Array.from({ length: 30 }, (_, i) => BigInt(i + 1)),
    );
    const rest = await eventsBetween(database(), 'crowd-7', 'user:crowd-7', 90n, 101n, 30);
    expect(rest.map((event) => event.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => BigInt(i + 91)),
    );
  });
});

describe('a subscriber that leaves during a long replay', () => {
  /** The sum of a metric's values over its labels, as /metrics reports it. */
  const metric = async (name: string) => {
    const text = await (await fetch(new URL('/metrics', server.url))).text();
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
      (sum, [, value]) => sum + Number(value),
      0,
    );
  };
  const deliveries = () => metric('notifications_deliveries_total');

  it('is replayed to no more once its socket closes', async () => {
    const { notification } = await send(server, {
      category: 'info',
      recipientIds: ['pia'],
      title: 'seen on many devices',
    });
    const start = await cursorOf('pia');
    // 20,000 SEEN events in pia's stream after that cursor: a long catch-up.
    const stream = userStream('pia');
    await database().$executeRaw`
      WITH head AS (
        UPDATE "Stream" SET seq = seq + 20000 WHERE id = ${stream} RETURNING seq - 20000 AS seq)
      INSERT INTO "Event" (stream, seq, type, "notificationId")
      SELECT ${stream}, head.seq + g, 'SEEN', ${notification.id}::uuid
      FROM head, generate_series(1, 20000) AS g`;
    const before = await deliveries();

    const socket = await userSocket(server, 'pia');
    const replay = subscribe(socket, MyNotificationsDocument, {
      after: `${start.public}.${start.user}`,
    });
    await replay.waitForCount(10);
    const sockets = await metric('notifications_connected_sockets');
    const atDispose = await deliveries();
    await socket.dispose();
    // The server takes the socket as closed once the subscription's work has ended.
    expect(
      await until(
        () => metric('notifications_connected_sockets'),
        (open) => open < sockets,
        60_000,
      ),
      'the server to let the closed socket go',
    ).toBe(sockets - 1);
    const atClose = await deliveries();
    // Only what was on its way when the client left (socket buffers: about a page was seen),
    // not the rest of the 20,000 (19,500 were delivered to nobody before the fix).
    expect(atClose - atDispose, `deliveries after the client left`).toBeLessThan(5_000);
    expect(await deliveries(), 'deliveries once the server let the socket go').toBe(atClose);
    expect(atClose - before).toBeLessThan(20_000);
  });
});

describe('a cursor older than the retained log', () => {
  const services = () => server.app.services;
  /** Makes a stream's events up to now older than the retention, then runs the prune. */
  const ageAndPrune = async (stream: string) => {
    await database().$executeRaw`
      UPDATE "Event" SET "createdAt" = now() - interval '400 days' WHERE stream = ${stream}`;
    await pruneLogs(services());
  };
  const resume = async (userId: string, cursor: Cursor) =>
    subscribe(await userSocket(server, userId), MyNotificationsDocument, {
      after: `${cursor.public}.${cursor.user}`,
    });

  it('is answered with CURSOR_EXPIRED, not a replay with the pruned events missing', async () => {
    const old = await cursorOf('quin');
    await send(server, { category: 'info', recipientIds: ['quin'], title: 'pruned 1' });
    await send(server, { category: 'info', recipientIds: ['quin'], title: 'pruned 2' });
    await ageAndPrune(userStream('quin'));
    const kept = await send(server, { category: 'info', recipientIds: ['quin'], title: 'kept' });

    const expired = await resume('quin', old);
    const error = (await expired.waitForError()) as { extensions?: { code?: string } }[];
    expect(error[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    expect(expired.results).toEqual([]);

    // A cursor from after the pruned events is whole: it resumes.
    const fresh = await resume('quin', { ...old, user: old.user + 2n });
    const [result] = await fresh.waitForCount(1);
    expect(result!.data!.myNotifications.notification.id).toBe(kept.notification.id);
  });

  it('resumes across a deleted notification with its DELETED event, not CURSOR_EXPIRED', async () => {
    const start = await cursorOf('rosa');
    const gone = await send(server, { category: 'info', recipientIds: ['rosa'], title: 'gone' });
    const stays = await send(server, { category: 'info', recipientIds: ['rosa'], title: 'stays' });
    // Deletion time comes for "gone": its events go with it, a DELETED event is appended.
    await database().notification.update({
      where: { id: gone.notification.id },
      data: { deleteAt: new Date(Date.now() - 1000) },
    });
    await deleteDueNotifications(services());
    // And the prune runs (nothing of rosa's is old enough).
    await pruneLogs(services());

    const resumed = await resume('rosa', start);
    const results = await resumed.waitForCount(2);
    expect(
      results.map((r) => [r.data!.myNotifications.type, r.data!.myNotifications.notification.id]),
    ).toEqual([
      ['CREATED', stays.notification.id],
      ['DELETED', gone.notification.id],
    ]);
    expect(resumed.error).toBeUndefined();
  });

  it('is answered with CURSOR_EXPIRED when the public stream was pruned past it', async () => {
    const old = await cursorOf('sam');
    await send(server, { category: 'info', public: true, title: 'pruned for everyone' });
    await ageAndPrune(PUBLIC_STREAM);
    await send(server, { category: 'info', public: true, title: 'kept for everyone' });

    const expired = await resume('sam', old);
    const error = (await expired.waitForError()) as { extensions?: { code?: string } }[];
    expect(error[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
  });
});
