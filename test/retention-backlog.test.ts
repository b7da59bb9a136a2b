import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { ROWS_PER_STEP } from '../src/notifications/retention.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// Issue 9, item 11: the retention job works through a backlog of any shape in runs bounded by
// rows touched, keeps no long transaction, and prunes the log even when deletion fails.

const NOTIFICATIONS = 1000;
const RECIPIENTS = 1000;
const MAX_ROWS_PER_RUN = 250_000;

type Line = Record<string, unknown>;
interface PartReport {
  rows: number;
  largestStep: number;
  done: boolean;
  deleted?: number;
  events?: number;
}
const runsIn = (lines: Line[]) =>
  lines.filter((line) => line.msg === 'retention ran') as (Line & {
    deletion: PartReport | 'failed';
    prune: PartReport | 'failed';
  })[];

/** A migrated database of its own, seeded by `seed` before any service runs on it. */
async function seededDatabase(seed: string): Promise<TestDatabase> {
  const database = await createTestDatabase();
  await applyMigrations(database.url, createLogger('silent'));
  // One simple-protocol query: all of it commits at once, so no run sees half a seed.
  await query(database.url, seed);
  return database;
}

const dueNotificationsSql = (count: number, recipients: number, title: string) => `
  INSERT INTO "Category" (name, "updatedAt") VALUES ('bulk', now()) ON CONFLICT DO NOTHING;
  CREATE TEMP TABLE seeded AS
    SELECT gen_random_uuid() AS id, i FROM generate_series(1, ${count}) i;
  INSERT INTO "Notification"
    (id, "categoryName", priority, "requireAck", public, title, sender, "deleteAt")
    SELECT id, 'bulk', 'NORMAL', false, false, '${title} ' || i, 'seed',
           now() - interval '1 hour' + i * interval '1 millisecond'
    FROM seeded;
  INSERT INTO "Receipt" ("notificationId", "userId", seq)
    SELECT s.id, 'bulk-user-' || u, n.seq FROM seeded s JOIN "Notification" n ON n.id = s.id,
      generate_series(1, ${recipients}) u;`;

describe('a backlog of 1,000 due notifications with 1,000 receipts each', () => {
  let database: TestDatabase;
  let server: TestServer;
  const lines: Line[] = [];
  beforeAll(async () => {
    database = await seededDatabase(dueNotificationsSql(NOTIFICATIONS, RECIPIENTS, 'due'));
    server = await startTestServer({
      database,
      env: {
        LOG_LEVEL: 'info',
        RETENTION_INTERVAL_SECONDS: '1',
        RETENTION_MAX_ROWS_PER_RUN: String(MAX_ROWS_PER_RUN),
        // The traffic below reads as fast as it can; rate limits are not the subject here.
        RATE_LIMIT_QUERIES_PER_USER: '0',
        RATE_LIMIT_MUTATIONS_PER_API_KEY: '0',
      },
      onLog: (line) => lines.push(line),
    });
    await upsertCategory(server, { name: 'live' });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('drains over several bounded runs while sends and reads go on', async () => {
    const failures: unknown[] = [];
    let operations = 0;
    let draining = true;
    const traffic = (async () => {
      for (let i = 0; draining; i++) {
        const outcomes = await Promise.allSettled([
          send(server, {
            category: 'live',
            recipientIds: ['bulk-user-1', 'reader'],
            title: `${i}`,
          }),
          server.request<{ unseenCount: number }>('{ unseenCount }', {}, 'bulk-user-1'),
          server.request<{ n: number }>('query Count { n: unseenCount }', {}, 'reader'),
        ]);
        for (const outcome of outcomes) {
          operations++;
          if (outcome.status === 'rejected') failures.push(outcome.reason);
          else if ('errors' in outcome.value && outcome.value.errors) {
            failures.push(outcome.value.errors);
          }
        }
      }
    })();

    const remaining = await until(
      async () =>
        Number(
          (
            await query<{ n: string }>(
              database.url,
              `SELECT count(*) AS n FROM "Notification" WHERE "categoryName" = 'bulk'`,
            )
          )[0]!.n,
        ),
      (n) => n === 0,
      600_000,
    );
    draining = false;
    await traffic;
    expect(remaining, 'waited for every due notification to be deleted').toBe(0);

    // Each recipient was told once: one DELETED event per receipt.
    const tombstones = await query<{ n: string }>(
      database.url,
      `SELECT count(*) AS n FROM "Event" WHERE type = 'DELETED' AND stream LIKE 'user:bulk-user-%'`,
    );
    expect(Number(tombstones[0]!.n)).toBe(NOTIFICATIONS * RECIPIENTS);

    // The run that deleted the last ones may still be logging.
    const deletedInRuns = () =>
      runsIn(lines).reduce(
        (sum, line) => sum + (line.deletion === 'failed' ? 0 : (line.deletion.deleted ?? 0)),
        0,
      );
    expect(
      await until(deletedInRuns, (n) => n === NOTIFICATIONS, 60_000),
      'waited for the runs that deleted them to be logged',
    ).toBe(NOTIFICATIONS);
    const runs = runsIn(lines).map((line) => line.deletion);
    expect(runs).not.toContain('failed');
    const working = (runs as PartReport[]).filter((run) => run.rows > 0);
    // 1,000,000 receipts and as many DELETED events: at least 8 runs at 250,000 rows each.
    expect(working.length).toBeGreaterThanOrEqual(
      Math.ceil((2 * NOTIFICATIONS * RECIPIENTS) / MAX_ROWS_PER_RUN),
    );
    for (const run of working) {
      // A receipt step deletes ROWS_PER_STEP receipts and appends as many events at most.
      expect(run.largestStep).toBeLessThanOrEqual(2 * ROWS_PER_STEP);
      expect(run.rows).toBeLessThan(MAX_ROWS_PER_RUN + 2 * ROWS_PER_STEP);
    }
    const metrics = await (await fetch(new URL('/metrics', server.url))).text();
    expect(metrics).toMatch(/^notifications_retention_rows_total\{part="deletion"\} [1-9]\d{6}$/m);

    expect(failures).toEqual([]);
    expect(operations).toBeGreaterThan(0);
  }, 660_000);
});

describe('the log prune, when deletion fails every run', () => {
  const OLD_EVENTS = 2500;
  let database: TestDatabase;
  let server: TestServer;
  const lines: Line[] = [];
  beforeAll(async () => {
    database = await seededDatabase(`
      ${dueNotificationsSql(3, 2, 'undeletable')}
      -- Deletion fails for good, the way a bug or a broken constraint would make it.
      CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'deleting notifications is refused by the test'; END $$;
      CREATE TRIGGER refuse_delete BEFORE DELETE ON "Notification"
        FOR EACH ROW EXECUTE FUNCTION refuse_delete();
      INSERT INTO "Event" (stream, seq, type, "notificationId", "createdAt")
        SELECT 'user:old', i, 'CREATED', gen_random_uuid(), now() - interval '30 days'
        FROM generate_series(1, ${OLD_EVENTS}) i;
      INSERT INTO "IdempotencyKey" (service, key, result, "createdAt")
        VALUES ('svc', 'old', '{}', now() - interval '2 days');`);
    server = await startTestServer({
      database,
      env: {
        LOG_LEVEL: 'info',
        RETENTION_INTERVAL_SECONDS: '1',
        // The prune needs three runs for the old events: each run is bounded too.
        RETENTION_MAX_ROWS_PER_RUN: String(ROWS_PER_STEP),
      },
      onLog: (line) => lines.push(line),
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('still prunes old events and idempotency keys, in bounded runs, and counts the failures', async () => {
    const left = await until(
      () =>
        query<{ events: string; keys: string }>(
          database.url,
          `SELECT (SELECT count(*) FROM "Event" WHERE "createdAt" < now() - interval '1 day') AS events,
                  (SELECT count(*) FROM "IdempotencyKey") AS keys`,
        ),
      ([row]) => row!.events === '0' && row!.keys === '0',
      30_000,
    );
    expect(left, 'waited for the old events and keys to be pruned').toEqual([
      { events: '0', keys: '0' },
    ]);

    // A run logs its report after all its parts, so the one that pruned the last rows may not
    // have reported yet.
    const prunedEvents = () =>
      runsIn(lines).reduce((sum, run) => sum + ((run.prune as PartReport).events ?? 0), 0);
    await until(prunedEvents, (events) => events >= OLD_EVENTS, 10_000, 'the runs to report');
    const runs = runsIn(lines);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.every((run) => run.deletion === 'failed')).toBe(true);
    const prunes = runs.map((run) => run.prune as PartReport);
    expect(prunes.every((prune) => prune.largestStep <= ROWS_PER_STEP)).toBe(true);
    expect(prunes.reduce((sum, prune) => sum + (prune.events ?? 0), 0)).toBe(OLD_EVENTS);
    expect(
      lines.find((line) => line.msg === 'retention part failed' && line.part === 'deletion'),
    ).toMatchObject({
      level: 50,
      err: { message: expect.stringContaining('refused by the test') },
    });

    const metrics = await (await fetch(new URL('/metrics', server.url))).text();
    const failures = /^notifications_retention_failures_total\{part="deletion"\} (\d+)$/m.exec(
      metrics,
    );
    expect(Number(failures?.[1])).toBeGreaterThanOrEqual(runs.length);
  }, 60_000);
});
