import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsAfter } from '../src/notifications/event-log.js';
import { pruneLogs } from '../src/notifications/retention.js';
import { databaseBefore } from './helpers/migrated-before.js';
import { query } from './helpers/pg-query.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// The event log is partitioned by day: retention drops a day's partition whole once all of it
// is older than the log's retention, instead of deleting its events one at a time, and the
// service creates the coming days' partitions ahead.

const DAY = 86_400_000;
const utcDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY) * DAY);
const dayName = (day: Date) => `Event_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;

interface EventRow {
  id: string;
  stream: string;
  seq: string;
  type: string;
  notificationId: string;
  tombstone: unknown;
  state: unknown;
  createdAt: Date;
}

const allEvents = (url: string) =>
  query<EventRow>(
    url,
    `SELECT id::text, stream, seq::text, type::text, "notificationId"::text, tombstone, state,
            "createdAt" FROM "Event" ORDER BY id`,
  );

/** The daily partitions the log has now, by name. */
const partitionsOf = async (url: string) =>
  (
    await query<{ name: string }>(
      url,
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '"Event"'::regclass AND c.relname ~ '^Event_p[0-9]{8}$'
       ORDER BY c.relname`,
    )
  ).map((row) => row.name);

describe('the migration to a partitioned event log', () => {
  let database: Awaited<ReturnType<typeof databaseBefore>> | undefined;
  afterAll(() => database?.remove());

  it('keeps every event as it was, and new events follow the old ids', async () => {
    database = await databaseBefore('partitioned_event_log');
    await query(
      database.url,
      `INSERT INTO "Event" (stream, seq, type, "notificationId", tombstone, state, "createdAt")
       SELECT 'user:u' || (g % 7), g, (ARRAY['CREATED','SEEN','DELETED'])[1 + g % 3]::"NotificationEventType",
              gen_random_uuid(), CASE WHEN g % 3 = 2 THEN '{"title":"gone"}'::jsonb END,
              CASE WHEN g % 3 = 1 THEN '{"before":{},"after":{}}'::jsonb END,
              now() - (g % 45) * interval '1 day' - (g % 24) * interval '1 hour'
       FROM generate_series(1, 3000) g`,
    );
    const old = await allEvents(database.url);

    await database.migrate();

    const [layout] = await query<{ partitioned: boolean }>(
      database.url,
      `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table
                      WHERE partrelid = '"Event"'::regclass) AS partitioned`,
    );
    expect(layout?.partitioned).toBe(true);
    expect(await allEvents(database.url)).toEqual(old);
    const [next] = await query<{ id: string }>(
      database.url,
      `INSERT INTO "Event" (stream, seq, type, "notificationId")
       VALUES ('user:new', 1, 'CREATED', gen_random_uuid()) RETURNING id::text`,
    );
    expect(BigInt(next!.id)).toBeGreaterThan(BigInt(old.at(-1)!.id));
  });
});

describe('the partitioned event log', () => {
  let server: TestServer;
  const RETENTION_DAYS = 7;
  const MONTH = 30;
  const STREAMS = 50;
  const PER_DAY = 2000;
  const services = () => server.app.services;
  const prune = () =>
    pruneLogs({
      ...services(),
      config: { ...services().config, EVENT_LOG_RETENTION_SECONDS: RETENTION_DAYS * 86_400 },
    });

  beforeAll(async () => {
    server = await startTestServer({ env: { RETENTION_INTERVAL_SECONDS: '3600' } });
    await upsertCategory(server, { name: 'info' });
  });
  afterAll(() => server?.stop());

  it('has partitions for today and the coming week as soon as the service has started', async () => {
    const today = utcDay(new Date());
    const expected = Array.from({ length: 8 }, (_, i) =>
      dayName(new Date(today.getTime() + i * DAY)),
    );
    expect(await partitionsOf(server.databaseUrl)).toEqual(expect.arrayContaining(expected));
  });

  it('drops a month of old days whole and deletes events one at a time only at the edge', async () => {
    const url = server.databaseUrl;
    const today = utcDay(new Date());
    // A month of history, each day in its own partition, as a month of traffic leaves it.
    await query(
      url,
      `SELECT create_event_partition(current_date - d) FROM generate_series(1, ${MONTH}) d`,
    );
    // Each stream's seqs grow with time, as appends number them.
    await query(
      url,
      `INSERT INTO "Event" (stream, seq, type, "notificationId", "createdAt")
       SELECT 'user:month-' || (g % ${STREAMS}), g / ${STREAMS} + 1, 'CREATED', gen_random_uuid(),
              now() - interval '${MONTH} days' + (g * interval '${MONTH} days') / ${MONTH * PER_DAY}
       FROM generate_series(0, ${MONTH * PER_DAY - 1}) g`,
    );
    const cutoff = new Date(Date.now() - RETENTION_DAYS * DAY);
    const [expected] = await query<{ old: string; kept: string; edge: string }>(
      url,
      `SELECT count(*) FILTER (WHERE "createdAt" < $1)::text AS old,
              count(*) FILTER (WHERE "createdAt" >= $1)::text AS kept,
              count(*) FILTER (WHERE "createdAt" < $1 AND "createdAt" >= $2)::text AS edge
       FROM "Event" WHERE stream LIKE 'user:month-%'`,
      [cutoff, utcDay(cutoff)],
    );
    const marks = await query<{ stream: string; seq: string }>(
      url,
      `SELECT stream, max(seq)::text AS seq FROM "Event"
       WHERE stream LIKE 'user:month-%' AND "createdAt" < $1 GROUP BY stream ORDER BY stream`,
      [cutoff],
    );
    // Streams have heads, as appends leave them.
    await query(
      url,
      `INSERT INTO "Stream" (id, seq) SELECT stream, max(seq) FROM "Event"
       WHERE stream LIKE 'user:month-%' GROUP BY stream`,
    );

    const report = await prune();

    // Every day that ended before the cutoff went as a whole; the cutoff's own day stays.
    const lastWhole = utcDay(cutoff).getTime() - DAY;
    const partitions = await partitionsOf(url);
    for (let day = today.getTime() - MONTH * DAY; day <= lastWhole; day += DAY) {
      expect(partitions).not.toContain(dayName(new Date(day)));
    }
    expect(partitions).toContain(dayName(utcDay(cutoff)));
    expect(report.partitionsDropped).toBeGreaterThanOrEqual(MONTH - RETENTION_DAYS - 1);
    // Only the edge (the part of the cutoff's day before it) was deleted event by event.
    expect(report.events).toBe(Number(expected!.edge));
    expect(report.done).toBe(true);

    const [left] = await query<{ old: string; kept: string }>(
      url,
      `SELECT count(*) FILTER (WHERE "createdAt" < $1)::text AS old,
              count(*) FILTER (WHERE "createdAt" >= $1)::text AS kept
       FROM "Event" WHERE stream LIKE 'user:month-%'`,
      [cutoff],
    );
    expect(left).toEqual({ old: '0', kept: expected!.kept });
    // Each stream knows how far its log was taken away, so an old cursor is refused, not
    // answered with events missing.
    expect(
      await query<{ stream: string; seq: string }>(
        url,
        `SELECT id AS stream, "prunedThrough"::text AS seq FROM "Stream"
         WHERE id LIKE 'user:month-%' ORDER BY id`,
      ),
    ).toEqual(marks);
    await expect(
      eventsAfter(services().database, 'month-1', ['user:month-1'], { public: 0n, user: 1n }, 10),
    ).rejects.toMatchObject({ code: 'CURSOR_EXPIRED' });
  });

  it('creates the coming days again when one is missing', async () => {
    const url = server.databaseUrl;
    const inThreeDays = dayName(new Date(utcDay(new Date()).getTime() + 3 * DAY));
    await query(url, `DROP TABLE "${inThreeDays}"`);
    expect(await partitionsOf(url)).not.toContain(inThreeDays);

    await prune();

    expect(await partitionsOf(url)).toContain(inThreeDays);
  });

  it('never makes sends wait on a transaction that holds the log: it drops the day later', async () => {
    const url = server.databaseUrl;
    const old = new Date(utcDay(new Date()).getTime() - 20 * DAY);
    await query(url, `SELECT create_event_partition($1::date)`, [old.toISOString().slice(0, 10)]);
    await query(
      url,
      `INSERT INTO "Event" (stream, seq, type, "notificationId", "createdAt")
       VALUES ('user:held', 1, 'CREATED', gen_random_uuid(), $1)`,
      [new Date(old.getTime() + 3600_000)],
    );
    // A long reader of the log: dropping a partition needs the log to itself for a moment.
    const reader = new pg.Client({ connectionString: url });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM "Event"`);

      const started = Date.now();
      const [report, sent] = await Promise.all([
        prune(),
        send(server, { category: 'info', recipientIds: ['held'], title: 'while held' }),
      ]);
      expect(sent.notification.id).toBeTruthy();
      expect(report.done).toBe(false);
      expect(await partitionsOf(url)).toContain(dayName(old));
      // It gave up waiting rather than queueing everyone behind it.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }

    const report = await prune();
    expect(report.done).toBe(true);
    expect(await partitionsOf(url)).not.toContain(dayName(old));
  });

  it('keeps the statistics of the log as a whole up to date, which autovacuum never does for a partitioned table', async () => {
    const url = server.databaseUrl;
    const wholeLog = async () => {
      const [row] = await query<{ reltuples: number; analyzed: Date | null; rows: number }>(
        url,
        `SELECT c.reltuples::float8 AS reltuples, s.last_analyze AS analyzed,
                (SELECT count(*) FROM "Event")::float8 AS rows
         FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
         WHERE c.oid = '"Event"'::regclass`,
      );
      return row!;
    };
    // A burst of traffic today, far more than the log's statistics last saw.
    await query(
      url,
      `INSERT INTO "Event" (stream, seq, type, "notificationId")
       SELECT 'user:burst-' || (g % 100), g / 100 + 1, 'CREATED', gen_random_uuid()
       FROM generate_series(0, 29999) g`,
    );
    // Counted by PostgreSQL's statistics within a second or so of the commit.
    const today = dayName(utcDay(new Date()));
    await until(
      async () =>
        (
          await query<{ live: number }>(
            url,
            `SELECT n_live_tup::float8 AS live FROM pg_stat_user_tables WHERE relname = $1`,
            [today],
          )
        )[0]?.live ?? 0,
      (live) => live >= 30_000,
      10_000,
      "the burst in today's live row count",
    );
    const stale = await wholeLog();
    expect(stale.reltuples).toBeLessThan(stale.rows * 0.9);

    await prune();

    const fresh = await wholeLog();
    expect(Math.abs(fresh.reltuples - fresh.rows)).toBeLessThanOrEqual(fresh.rows * 0.1);
    expect(fresh.analyzed).not.toBeNull();
    // Nothing changed since: the next run does not sample every partition again.
    await prune();
    expect((await wholeLog()).analyzed).toEqual(fresh.analyzed);
  });
});
