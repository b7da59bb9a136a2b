import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../src/db/client.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { unseenCount, unseenSummarySql } from '../src/notifications/inbox.js';
import { setCategoryPreference } from '../src/notifications/preferences.js';
import { acknowledge, markAllSeen, markSeen } from '../src/notifications/receipts.js';
import { deleteDueNotifications, settlePublicExpiries } from '../src/notifications/retention.js';
import { markAllSeenSql, unseenListSql } from '../src/notifications/visibility.js';
import { upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// A user's count and first page read a bounded amount however many public notifications are
// stored, whether they never marked anything seen (every public one is unseen) or marked all
// seen halfway and dealt with a few since. Measured as the shared buffers the statements touch
// (EXPLAIN ANALYZE BUFFERS), not as time. And the counts stay exact through expiry (at any time,
// not in seq order), deletion, mutes, markAllSeen and acknowledgements.

let server: TestServer;
const services = () => server.app.services;
const database = () => services().database;
const FIRST_PAGE = 200;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  await upsertCategory(server, { name: 'quiet' });
});
afterAll(() => server.stop());

/**
 * Public notifications written straight into the table, as a large store would hold them: a third
 * each of info, terms (require-ack) and quiet; a quarter expire in the next hours and a quarter
 * expired minutes ago, in no order of seq; the rest never expire.
 */
async function seedPublic(count: number) {
  await database().$executeRaw`
    INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender,
      "deleteAt", "expiresAt")
    SELECT c.name, 'NORMAL', c.name = 'terms', true, 'seeded ' || g, 'seed',
      now() + interval '1 day',
      CASE g % 4
        WHEN 1 THEN now() + (1 + g % 97) * interval '1 minute'
        WHEN 2 THEN now() - (1 + g % 89) * interval '1 minute'
      END
    FROM generate_series(1, ${count}::int) g,
      LATERAL (SELECT (ARRAY['info', 'terms', 'quiet'])[1 + g % 3] AS name) c`;
  // As autovacuum would soon: the planner knows the table's size.
  await database().$executeRaw`ANALYZE "Notification"`;
}

/** What the unseen list holds in all, by the list's own statement: what a count must equal. */
async function listLength(tx: Queryable, userId: string) {
  const [{ count }] = await tx.$queryRaw<[{ count: bigint }]>`
    SELECT count(*) FROM (${unseenListSql(userId, 10_000_000)}) l`;
  return Number(count);
}

/** Count and list from one snapshot at one now(), as a connect reads them. */
async function expectExact(users: string[]) {
  for (const user of users) {
    const [count, length] = await database().$transaction(
      async (tx) => [await unseenCount(tx, user), await listLength(tx, user)],
      { isolationLevel: 'RepeatableRead' },
    );
    expect({ user, count }).toEqual({ user, count: length });
  }
}

/** The tallies, and the tallies recomputed from the notifications themselves. */
async function expectTalliesExact() {
  const kept = await database().$queryRaw<unknown[]>`
    SELECT bucket, "categoryName", live, "requireAck" FROM "PublicTally"
    ORDER BY bucket, "categoryName"`;
  const recomputed = await database().$queryRaw<unknown[]>`
    SELECT seq >> 10 AS bucket, "categoryName", count(*)::int AS live,
      (count(*) FILTER (WHERE "requireAck"))::int AS "requireAck"
    FROM "Notification" n
    WHERE public AND ("expiresAt" IS NULL OR EXISTS (SELECT FROM "PublicExpiry" q WHERE q.seq = n.seq))
    GROUP BY 1, 2 ORDER BY 1, 2`;
  expect(kept).toEqual(recomputed);
  // Queued: exactly the public ones that expire and were not settled (all after the settled
  // mark); settled: all expired.
  const [queue] = await database().$queryRaw<
    [{ stray: bigint; beforeSettled: bigint; unsettledLive: bigint }]
  >`
    SELECT
      (SELECT count(*) FROM "PublicExpiry" q
        WHERE NOT EXISTS (SELECT FROM "Notification" n
          WHERE n.seq = q.seq AND n.public AND n."expiresAt" = q."expiresAt")) AS stray,
      (SELECT count(*) FROM "PublicExpiry" q, "PublicExpirySettled" s
        WHERE (q."expiresAt", q.seq) <= (s."through", s."throughSeq")) AS "beforeSettled",
      (SELECT count(*) FROM "Notification" n
        WHERE n.public AND n."expiresAt" > now()
          AND NOT EXISTS (SELECT FROM "PublicExpiry" q WHERE q.seq = n.seq)) AS "unsettledLive"`;
  expect(queue).toEqual({ stray: 0n, beforeSettled: 0n, unsettledLive: 0n });
}

const setPosition = (userId: string, seq: bigint) =>
  database().inboxState.upsert({
    where: { userId },
    create: { userId, publicSeenSeq: seq, publicSeenAt: new Date() },
    update: { publicSeenSeq: seq },
  });

const sendPublic = async (category: string, expiresAt?: Date) =>
  (
    await services().sender.send('test', {
      category,
      public: true,
      title: `${category} sent`,
      expiresAt,
    })
  ).notification;

const publicIds = (where: Prisma.Sql, limit: number) =>
  database().$queryRaw<{ id: string; seq: bigint }[]>`
    SELECT id::text, seq FROM "Notification" WHERE public AND ${where} ORDER BY seq LIMIT ${limit}`;

describe('public counts', () => {
  const USERS = ['ann', 'ben', 'cy', 'dee'];

  it('stay exact through expiry at any time, deletion, mutes, markAllSeen and acknowledgements', async () => {
    await seedPublic(2_500);
    await services().sender.send('test', {
      category: 'info',
      recipientIds: USERS,
      title: 'private',
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const soon = new Date(Date.now() + 1_500);
    const expiringSoon = [await sendPublic('info', soon), await sendPublic('terms', soon)];
    await sendPublic('info', new Date(Date.now() + 7_200_000));
    await sendPublic('terms');
    await expectTalliesExact();
    await expectExact(USERS);

    // Positions anywhere: by markAllSeen, and at the edges of a tally's bucket.
    await markAllSeen(services(), 'ben');
    for (const seq of [1023n, 1024n, 1025n, 2047n, 2048n, 1n]) {
      await setPosition('cy', seq);
      await expectExact(['cy']);
    }
    await setPosition('cy', 1500n);

    // Dealt with one by one, above and at or below the position.
    const infos = await publicIds(Prisma.sql`"categoryName" = 'info' AND "expiresAt" IS NULL`, 3);
    const terms = await publicIds(Prisma.sql`"requireAck" AND "expiresAt" IS NULL`, 300);
    for (const user of ['ann', 'cy']) {
      await markSeen(services(), user, [infos[0]!.id, infos[2]!.id]);
      for (const term of [terms[0]!, terms[200]!, terms[299]!]) {
        await acknowledge(services(), user, term.id);
      }
      await markSeen(services(), user, [terms[150]!.id]); // seen: still awaits acknowledgement
    }
    await acknowledge(services(), 'ben', terms[1]!.id);
    await expectExact(USERS);

    // Muted, and unmuted again.
    await setCategoryPreference(services(), 'ann', 'quiet', true);
    await setCategoryPreference(services(), 'cy', 'quiet', true);
    await expectExact(USERS);
    await setCategoryPreference(services(), 'cy', 'quiet', false);
    await expectExact(USERS);

    // Expired, not settled yet: subtracted until the job comes.
    await new Promise((resolve) => setTimeout(resolve, soon.getTime() - Date.now() + 50));
    await expectExact(USERS);
    // Changed by hand to have expired an hour ago, or to expire later after all.
    await database().$executeRaw`
      UPDATE "Notification" SET "expiresAt" = now() - interval '1 hour'
      WHERE public AND seq % 7 = 3 AND seq < 2000`;
    await database().$executeRaw`
      UPDATE "Notification" SET "expiresAt" = now() + interval '1 hour'
      WHERE public AND seq % 11 = 2 AND seq < 2000`;
    await expectTalliesExact();
    await expectExact(USERS);
    const settled = await settlePublicExpiries(services());
    expect(settled.rows).toBeGreaterThan(500);
    await expectTalliesExact();
    await expectExact(USERS);

    // Deleted: live, expired and settled, expired and queued, seen, acknowledged.
    await database().$executeRaw`
      UPDATE "Notification" SET "deleteAt" = now()
      WHERE public AND (seq % 13 = 5 OR seq = ANY(${[
        infos[0]!.seq,
        terms[0]!.seq,
        terms[150]!.seq,
        ...expiringSoon.map((notification) => notification.seq),
      ]}::bigint[]))`;
    const deleted = await deleteDueNotifications(services());
    expect(deleted.deleted).toBeGreaterThan(150);
    await expectTalliesExact();
    await expectExact(USERS);

    // markAllSeen from a position in the middle, then more of everything.
    await markAllSeen(services(), 'cy');
    await sendPublic('info');
    await sendPublic('terms', new Date(Date.now() + 60_000));
    await expectTalliesExact();
    await expectExact(USERS);
  }, 120_000);
});

interface PlanNode {
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
}

/** The shared buffers one run of the statement touched (hit or read), from EXPLAIN ANALYZE. */
async function buffersOf(statement: Prisma.Sql, { rollback = false } = {}) {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    if (rollback) await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
      statement.values,
    );
    if (rollback) await client.query('ROLLBACK');
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
  } finally {
    await client.end();
  }
}

/** What a connect reads for the user: the count (with all a live counter needs), the first page. */
const readsOf = async (userId: string) => ({
  count: await buffersOf(unseenSummarySql(userId)),
  firstPage: await buffersOf(unseenListSql(userId, FIRST_PAGE)),
  markAllSeen: await buffersOf(markAllSeenSql(userId), { rollback: true }),
});

/**
 * The job settles the expired ones; autovacuum then clears the versions that left behind in the
 * tallies (on this busy machine, whenever it gets to it: here, at once).
 */
async function settleAndVacuum() {
  await settlePublicExpiries(services());
  await database().$executeRaw`VACUUM "PublicTally", "PublicExpiry"`;
}

describe('a user among many public notifications', () => {
  it('is counted and listed reading as much among 100,000 as among 10,000', async () => {
    await database().$executeRaw`
      TRUNCATE "Notification", "Receipt", "Event", "Stream", "InboxState", "Preference",
        "PublicTally", "PublicExpiry" CASCADE`;
    await setCategoryPreference(services(), 'zero', 'quiet', true);
    await setCategoryPreference(services(), 'middle', 'quiet', true);
    await seedPublic(5_000);
    await markAllSeen(services(), 'middle');
    await seedPublic(5_000);
    // 'middle' dealt with a few: seen above its position, acknowledged below and above it.
    const above = await publicIds(Prisma.sql`seq > 5000 AND NOT "requireAck"`, 3);
    const termsBelow = await publicIds(Prisma.sql`seq <= 5000 AND "requireAck"`, 3);
    const termsAbove = await publicIds(Prisma.sql`seq > 5000 AND "requireAck"`, 1);
    await markSeen(
      services(),
      'middle',
      above.map((notification) => notification.id),
    );
    for (const notification of [...termsBelow, ...termsAbove]) {
      await acknowledge(services(), 'middle', notification.id);
    }
    await settleAndVacuum();
    await expectExact(['zero', 'middle']);
    const atTenThousand = { zero: await readsOf('zero'), middle: await readsOf('middle') };

    await seedPublic(90_000);
    await settleAndVacuum();
    await expectExact(['zero', 'middle']);
    const atHundredThousand = { zero: await readsOf('zero'), middle: await readsOf('middle') };
    console.info('shared buffers read', { atTenThousand, atHundredThousand });

    // Ten times the public notifications: the same reads, but for the tallies (a row per category
    // and 1024 seqs: about 300 rows here, with their versions not yet reclaimed, a few dozen
    // pages at most) and an index level. Walking the 90,000 added would touch tens of thousands.
    for (const user of ['zero', 'middle'] as const) {
      for (const part of ['count', 'firstPage', 'markAllSeen'] as const) {
        const [before, after] = [atTenThousand[user][part], atHundredThousand[user][part]];
        expect(after, `${user}'s ${part}: ${before} buffers, then ${after}`).toBeLessThanOrEqual(
          before + 100,
        );
      }
    }
  }, 300_000);
});
