import pg from 'pg';
import { Prisma } from '../src/generated/prisma/client.js';
import { pgReader } from '../src/db/sql-reader.js';
import { unseenSummarySql } from '../src/notifications/inbox.js';
import { newestVisibleSql, unseenListSql } from '../src/notifications/visibility.js';
import { percentile, type MetricInput } from './report.js';
import { SEEDED_DELETE_DAYS, SEEDED_USERS, seedNotifications, withClient } from './seed.js';

// Why Notification and Receipt are not partitioned by time, measured (npm run bench --
// --partitioning, and in a full run). The same seeded rows are read from today's tables and
// from copies partitioned by the UTC day of deleteAt (one partition per day of the 30 days a
// notification is kept by default), with the service's own queries; then one day of due
// notifications is removed both ways: its rows deleted, or its two partitions dropped.

export interface PartitioningOptions {
  databaseUrl: string;
  rows: number;
  rounds: number;
  record: (metric: MetricInput) => void;
}

/** Days of deleteAt the seeded rows spread over (and one more), each its own partition. */
const DAYS = SEEDED_DELETE_DAYS;
const SCHEMA = 'partitioned';

/** A copy of Notification and Receipt partitioned by deleteAt day, with today's indexes. */
const PARTITIONED_COPY = `
  DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE;
  CREATE SCHEMA ${SCHEMA};
  CREATE TABLE ${SCHEMA}."Notification" (LIKE public."Notification" INCLUDING DEFAULTS)
    PARTITION BY RANGE ("deleteAt");
  -- A receipt carries its notification's deleteAt: its partition, and the foreign key's half.
  CREATE TABLE ${SCHEMA}."Receipt" (LIKE public."Receipt" INCLUDING DEFAULTS,
    "deleteAt" timestamptz(3) NOT NULL) PARTITION BY RANGE ("deleteAt");
  DO $$ BEGIN
    FOR day IN 0..${DAYS} LOOP
      EXECUTE format('CREATE TABLE ${SCHEMA}.%I PARTITION OF ${SCHEMA}."Notification" FOR VALUES FROM (%L) TO (%L)',
        'Notification_' || day, current_date + day, current_date + day + 1);
      EXECUTE format('CREATE TABLE ${SCHEMA}.%I PARTITION OF ${SCHEMA}."Receipt" FOR VALUES FROM (%L) TO (%L)',
        'Receipt_' || day, current_date + day, current_date + day + 1);
    END LOOP;
  END $$;
  INSERT INTO ${SCHEMA}."Notification" SELECT * FROM public."Notification";
  INSERT INTO ${SCHEMA}."Receipt"
    SELECT r.*, n."deleteAt" FROM public."Receipt" r JOIN public."Notification" n ON n.id = r."notificationId";
  -- Unique keys of a partitioned table hold its partition key; seq is unique by construction.
  ALTER TABLE ${SCHEMA}."Notification" ADD PRIMARY KEY (id, "deleteAt");
  CREATE INDEX ON ${SCHEMA}."Notification" (seq);
  ALTER TABLE ${SCHEMA}."Receipt" ADD PRIMARY KEY ("userId", "notificationId", "deleteAt");
  -- Every other index of today's tables, as it is.
  DO $$ DECLARE definition text; BEGIN
    FOR definition IN SELECT indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename IN ('Notification', 'Receipt')
        AND indexdef NOT LIKE 'CREATE UNIQUE%'
    LOOP
      EXECUTE regexp_replace(definition, '^(CREATE INDEX) \\S+ ON public\\.', '\\1 ON ${SCHEMA}.');
    END LOOP;
  END $$;
  ALTER TABLE ${SCHEMA}."Receipt" ADD FOREIGN KEY ("notificationId", "deleteAt")
    REFERENCES ${SCHEMA}."Notification" (id, "deleteAt") ON DELETE CASCADE;
  ANALYZE ${SCHEMA}."Notification";
  ANALYZE ${SCHEMA}."Receipt";`;

/**
 * A query as the partitioned copy would best run it: a join of a receipt to its notification
 * also matches deleteAt, so that only the notification's own partition is probed.
 */
const pruned = (sql: Prisma.Sql) =>
  new Prisma.Sql(
    sql.strings.map((part) =>
      part.replace(
        /n\.id = r\."notificationId"/g,
        'n.id = r."notificationId" AND n."deleteAt" = r."deleteAt"',
      ),
    ),
    sql.values,
  );

/** The reads every connecting client and inbox makes, for one user and one of their receipts. */
const READS = {
  count: (userId) => unseenSummarySql(userId),
  'first page': (userId) => unseenListSql(userId, 20),
  history: (userId) => newestVisibleSql(userId, null, 20),
  'receipt by id': (userId, notificationId) => Prisma.sql`
    SELECT * FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
    WHERE r."userId" = ${userId} AND r."notificationId" = ${notificationId}::uuid`,
} satisfies Record<string, (userId: string, notificationId: string) => Prisma.Sql>;
type Read = keyof typeof READS;
type Sample = { userId: string; notificationId: string }[];

/** p50 ms of each read over `sample`, on a connection whose search_path puts `schema` first. */
async function readTimes(databaseUrl: string, schema: string, sample: Sample) {
  // As the service's connections: no JIT, each read prepared once (pgReader).
  const client = new pg.Client({ connectionString: databaseUrl, options: '-c jit=off' });
  await client.connect();
  try {
    await client.query(`SET search_path = ${schema}, public`);
    const reader = pgReader(client);
    const times = {} as Record<Read, number>;
    for (const read of Object.keys(READS) as Read[]) {
      const durations: number[] = [];
      for (const { userId, notificationId } of sample) {
        const query = READS[read](userId, notificationId);
        const started = performance.now();
        await reader.$queryRaw(schema === SCHEMA ? pruned(query) : query);
        durations.push(performance.now() - started);
      }
      times[read] = percentile(durations, 50);
    }
    return times;
  } finally {
    await client.end();
  }
}

/** ms to remove the private notifications due on one day and their receipts, rolled back. */
async function removeOneDay(client: pg.Client) {
  const timed = async (work: () => Promise<unknown>) => {
    await client.query('BEGIN');
    const started = performance.now();
    await work();
    const ms = performance.now() - started;
    await client.query('ROLLBACK');
    return ms;
  };
  const dueOnDay5 = (n: string) =>
    `${n}."deleteAt" >= current_date + 5 AND ${n}."deleteAt" < current_date + 6 AND NOT ${n}.public`;
  const day = dueOnDay5('"Notification"');
  const rows = await timed(async () => {
    await client.query(`DELETE FROM public."Receipt" WHERE "notificationId" IN (
      SELECT id FROM public."Notification" WHERE ${day})`);
    await client.query(`DELETE FROM public."Notification" WHERE ${day}`);
  });
  const partitions = await timed(async () => {
    for (const table of ['Receipt', 'Notification']) {
      await client.query(
        `ALTER TABLE ${SCHEMA}."${table}" DETACH PARTITION ${SCHEMA}."${table}_5"`,
      );
      await client.query(`DROP TABLE ${SCHEMA}."${table}_5"`);
    }
  });
  // What both ways write: a DELETED event for each recipient, into a copy of the log.
  const events = await timed(async () => {
    await client.query(`CREATE TEMP TABLE events (LIKE public."Event" INCLUDING ALL)`);
    await client.query(`INSERT INTO events (id, stream, seq, type, "notificationId", tombstone)
      SELECT row_number() OVER (), 'user:' || r."userId", row_number() OVER (), 'DELETED',
             n.id, jsonb_build_object('title', n.title)
      FROM public."Notification" n JOIN public."Receipt" r ON r."notificationId" = n.id
      WHERE ${dueOnDay5('n')}`);
  });
  const { rows: counted } = await client.query<{ count: string }>(
    `SELECT count(*) FROM public."Notification" WHERE ${day}`,
  );
  return { rows, partitions, events, notifications: Number(counted[0]!.count) };
}

export async function partitioningTradeoff(options: PartitioningOptions) {
  const { databaseUrl, rows, rounds, record } = options;
  await seedNotifications(databaseUrl, rows);
  const sample = await withClient(databaseUrl, async (client) => {
    await client.query(PARTITIONED_COPY);
    const { rows: picked } = await client.query<Sample[number]>(
      `SELECT "userId", "notificationId"::text FROM "Receipt" ORDER BY random() LIMIT 200`,
    );
    return picked;
  });
  const plain: Record<Read, number>[] = [];
  const partitioned: Record<Read, number>[] = [];
  const removals: Awaited<ReturnType<typeof removeOneDay>>[] = [];
  for (let round = 0; round < rounds; round++) {
    plain.push(await readTimes(databaseUrl, 'public', sample));
    partitioned.push(await readTimes(databaseUrl, SCHEMA, sample));
    removals.push(await withClient(databaseUrl, removeOneDay));
  }
  const each = (times: Record<Read, number>[]) => times.map((one) => sum(Object.values(one)));
  const medians = (times: Record<Read, number>[]) =>
    (Object.keys(READS) as Read[])
      .map(
        (read) =>
          `${read} ${fixed(
            percentile(
              times.map((one) => one[read]),
              50,
            ),
          )}`,
      )
      .join(', ');
  record({
    id: 'partitioned_reads',
    name: `a user's count, first page, history page and one receipt by id, p50 of ${sample.length} users each, summed: Notification and Receipt partitioned by deleteAt day (${DAYS + 1} partitions) beside today's tables`,
    unit: 'ms',
    value: each(partitioned),
    baseline: each(plain),
    digits: 2,
    goal: '— (a design choice)',
    note: `partitioned: ${medians(partitioned)}; today's tables: ${medians(plain)} ms. ${rows.toLocaleString('en')} notifications for ${SEEDED_USERS.toLocaleString('en')} users`,
  });
  const notifications = removals[0]!.notifications;
  record({
    id: 'partitioned_retention',
    name: `removing one day's ${notifications.toLocaleString('en')} due private notifications and their receipts: dropping its two partitions beside deleting the rows`,
    unit: 'ms',
    value: removals.map((one) => one.partitions),
    baseline: removals.map((one) => one.rows),
    digits: 0,
    goal: '— (a design choice)',
    note: `either way each recipient is told with a DELETED event: writing them took ${fixed(
      percentile(
        removals.map((one) => one.events),
        50,
      ),
    )} ms`,
  });
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const fixed = (value: number) => value.toFixed(2);
