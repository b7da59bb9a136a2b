import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestVisibleSql, unseenListSql } from '../src/notifications/visibility.js';
import { databaseBefore } from './helpers/migrated-before.js';
import { upsertCategory } from './helpers/operations.js';
import { query } from './helpers/pg-query.js';
import { planNodes, type PlanNode } from './helpers/query-plan.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// A user's inbox reads cost what a page holds, not what the user has ever been sent: an on-call
// engineer with 20,000 alerts in the retention window opens the app as fast as anyone. The
// connect reads are prepared once per connection and run for every user, so PostgreSQL ends up
// with one generic plan for all of them: it must not be a plan that reads the whole history.

const HISTORY = 20_000;
const PUBLIC = 2_000;
const CROWD = 2_000;
/** Rows a page may read: a page and its neighbours, not a history or everyone's. */
const READ_BOUND = 500;

let server: TestServer;
const database = () => server.app.services.database;

/**
 * `count` notifications to `userId`, or each to one of `crowd` users (`crowd-<n>`), or public
 * (to everyone, no receipt); seen or not.
 */
const seed = (count: number, to: { userId?: string; crowd?: number; seen?: boolean }) => database()
  .$executeRaw`
  WITH sent AS (
    INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender, "deleteAt")
    SELECT 'info', 'NORMAL', false, ${!to.userId}, 'alert ' || g, 'seed', now() + interval '30 days'
    FROM generate_series(1, ${count}) g
    RETURNING id, seq)
  INSERT INTO "Receipt" ("notificationId", "userId", "seenAt", seq)
  SELECT id, COALESCE(${to.userId ?? null}, 'crowd-' || seq % ${to.crowd ?? 1}),
    CASE WHEN ${to.seen ?? false} THEN now() END, seq
  FROM sent WHERE ${!!(to.userId ?? to.crowd)}`;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await seed(PUBLIC, {});
  // Most users have a short history: PostgreSQL's statistics (and so its generic plan) say so.
  await seed(CROWD * 20, { crowd: CROWD, seen: true });
  await seed(HISTORY, { userId: 'oncall', seen: true });
  await seed(HISTORY, { userId: 'flooded' });
  await seed(5, { userId: 'newcomer' });
  await database().$executeRaw`ANALYZE`;
}, 60_000);
afterAll(() => server.stop());

/** Rows the plan's nodes on Receipt and Notification produced, over all their loops. */
const rowsRead = (nodes: PlanNode[]) =>
  nodes
    .filter((node) => ['Receipt', 'Notification'].includes(node['Relation Name'] ?? ''))
    .reduce((rows, node) => rows + node['Actual Rows']! * node['Actual Loops']!, 0);

const READS = {
  'the first page of unseen': async (userId: string) => unseenListSql(userId, 20),
  'the first page of history': async (userId: string) => newestVisibleSql(userId, null, 20),
  'a page of history further down': async (userId: string) =>
    newestVisibleSql(userId, await middleOf(userId), 20),
};

/** The seq in the middle of the user's notifications. */
const middleOf = async (userId: string) =>
  (
    await database().$queryRaw<[{ seq: bigint }]>`SELECT percentile_disc(0.5) WITHIN GROUP
      (ORDER BY n.seq) AS seq FROM "Notification" n JOIN "Receipt" r ON r."notificationId" = n.id
      WHERE r."userId" = ${userId}`
  )[0].seq;

// A plan that starts from the user's receipts reads the on-call user's whole history (or all that
// the flooded user left unseen); one that walks the notifications newest first reads everyone's
// to find the newcomer's five.
describe.each(['oncall', 'flooded', 'newcomer'])('the inbox reads of %s', (userId) => {
  for (const [read, sql] of Object.entries(READS)) {
    for (const planMode of ['auto', 'force_generic_plan'] as const) {
      it(`read ${read} through indexes, a page's worth of rows (${planMode} plan)`, async () => {
        const nodes = await planNodes(database(), await sql(userId), planMode, { analyze: true });
        expect(rowsRead(nodes)).toBeLessThanOrEqual(READ_BOUND);
      });
    }
  }
});

describe('the migration that gives receipts their seq', () => {
  let database: Awaited<ReturnType<typeof databaseBefore>> | undefined;
  afterAll(() => database?.remove());

  it("gives every receipt its notification's seq, and keeps every receipt", async () => {
    database = await databaseBefore('receipt_seq');
    await query(database.url, `INSERT INTO "Category" (name, "updatedAt") VALUES ('info', now())`);
    await query(
      database.url,
      `WITH sent AS (
         INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender, "deleteAt")
         SELECT 'info', 'NORMAL', false, g % 10 = 0, 'n' || g, 'seed', now() + interval '1 day'
         FROM generate_series(1, 300) g RETURNING id, public)
       INSERT INTO "Receipt" ("notificationId", "userId", public)
       SELECT id, 'u' || u, public FROM sent, generate_series(1, 3) u`,
    );
    const receipts = `SELECT r."notificationId"::text, r."userId", n.seq::text
      FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
      ORDER BY r."userId", n.seq`;
    const before = await query<{ seq: string }>(database.url, receipts);

    await database.migrate();

    const after = await query<{ seq: string; own: string }>(
      database.url,
      receipts.replace('n.seq::text', 'n.seq::text, r.seq::text AS own'),
    );
    expect(after).toHaveLength(900);
    expect(after.map(({ own: _own, ...rest }) => rest)).toEqual(before);
    expect(after.every(({ seq, own }) => seq === own)).toBe(true);
  });
});
