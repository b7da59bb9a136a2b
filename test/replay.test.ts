import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCursorDocument, MarkSeenDocument } from '../client/graphql.js';
import {
  advance,
  eventsAfter,
  eventsAfterSql,
  parseCursor,
  type Cursor,
} from '../src/notifications/event-log.js';
import { PUBLIC_STREAM, userStream } from '../src/notifications/types.js';
import { follow, ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

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

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

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
    for (const cursor of [{ public: 0n, user: 0n }, await cursorOf('nora')]) {
      const [{ 'QUERY PLAN': plan }] = await database().$queryRaw<[{ 'QUERY PLAN': unknown }]>`
        EXPLAIN (FORMAT JSON) ${eventsAfterSql(streams, cursor, 500)}`;
      const nodes = nodesOf((plan as [{ Plan: PlanNode }])[0].Plan);
      // Each stream's half is one scan of Event driven by the (stream, seq) index (in order, or
      // as a bitmap when the planner expects a few rows); no sequential scan, no primary key.
      expect(nodes.filter((node) => node['Relation Name'] === 'Event')).toHaveLength(2);
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
      expect(new Set(nodes.flatMap((node) => node['Index Name'] ?? []))).toEqual(
        new Set(['Event_stream_seq_key']),
      );
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
});
