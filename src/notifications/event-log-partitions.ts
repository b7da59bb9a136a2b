import type { Database } from '../db/client.js';
import { LOCK_NOT_AVAILABLE, sqlStateOf } from '../db/postgres-errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { raisePrunedThroughSql } from './event-log.js';

// The event log is partitioned by UTC day (migration 20261201030000_partitioned_event_log). A
// day that ended before the log's cutoff is dropped whole, in two phases:
//   1. its streams' prunedThrough are raised past the day's events, a bounded step at a time,
//      progress kept in "EventLogPrune" (a cursor into the day is refused from then on: it would
//      miss them);
//   2. the day's table is dropped, which takes a moment's exclusive lock on the log: under a
//      short lock_timeout, so when a transaction holds the log the drop waits for the next run
//      instead of queueing every send behind it.
// Events are appended with the time of their transaction, so no new one lands in a day that
// ended a retention period ago.

/** How long a drop waits for the log before leaving the day to the next run. */
const DROP_LOCK_TIMEOUT = '500ms';
const DAY_PARTITION = /^Event_p(\d{4})(\d{2})(\d{2})$/;

/** Creates today's partition and the next week's where missing (at start and every retention run). */
export async function createPartitionsAhead(database: Database): Promise<void> {
  try {
    await database.$queryRaw`SELECT create_event_partitions_ahead()`;
  } catch (error) {
    // The default partition was busy; they are a week ahead, the next run makes them.
    if (sqlStateOf(error) !== LOCK_NOT_AVAILABLE) throw error;
  }
}

/** The daily partitions whose day ended at or before `cutoff`, oldest first. */
export async function partitionsEndedBefore(database: Database, cutoff: Date): Promise<string[]> {
  const rows = await database.$queryRaw<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = '"Event"'::regclass ORDER BY c.relname`;
  return rows
    .map((row) => row.name)
    .filter((name) => {
      const day = DAY_PARTITION.exec(name);
      if (!day) return false;
      const ends = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + 1);
      return ends <= cutoff.getTime();
    });
}

/**
 * Raises prunedThrough for the next `limit` streams (in order) of a day past its
 * events, and records how far it got, in one statement. Walks the day's (stream, seq) index
 * from stream to stream, reading two index entries a stream, however many events each has.
 * Returns the streams marked.
 */
export async function markStreamsStep(
  database: Database,
  partition: string,
  limit: number,
): Promise<number> {
  const day = Prisma.raw(`"${checkedName(partition)}"`);
  const [{ streams }] = await database.$queryRaw<[{ streams: number }]>`
    WITH RECURSIVE walk AS (
      (SELECT stream FROM ${day}
       WHERE stream > COALESCE(
         (SELECT "throughStream" FROM "EventLogPrune" WHERE partition = ${partition}), '')
       ORDER BY stream LIMIT 1)
      UNION ALL
      SELECT (SELECT stream FROM ${day} WHERE stream > walk.stream ORDER BY stream LIMIT 1)
      FROM walk WHERE walk.stream IS NOT NULL),
    marks AS (
      SELECT stream, (SELECT max(seq) FROM ${day} e WHERE e.stream = walk.stream) AS seq
      FROM walk WHERE stream IS NOT NULL LIMIT ${limit}),
    ${raisePrunedThroughSql},
    progress AS (
      INSERT INTO "EventLogPrune" (partition, "throughStream")
      SELECT ${partition}, max(stream) FROM marks HAVING count(*) > 0
      ON CONFLICT (partition) DO UPDATE SET "throughStream" = EXCLUDED."throughStream")
    SELECT count(*)::int AS streams FROM marks`;
  return streams;
}

/**
 * ANALYZEs the log as a whole once its row count has moved from what its statistics say by as
 * much as autovacuum lets any table's (50 rows and 10%). Autovacuum analyzes each day's
 * partition but never the partitioned table, whose statistics the planner uses for the log as a
 * whole (a join over it); left alone they stay at their first, empty reading. Analyzing it
 * samples every partition again, so it is done only then. Returns whether it did.
 */
export async function analyzeLogWhenStale(database: Database): Promise<boolean> {
  const [{ stale }] = await database.$queryRaw<[{ stale: boolean }]>`
    SELECT abs(coalesce(sum(s.n_live_tup), 0) - greatest(c.reltuples, 0))
             > 50 + 0.1 * greatest(c.reltuples, 0) AS stale
    FROM pg_class c
    LEFT JOIN pg_inherits i ON i.inhparent = c.oid
    LEFT JOIN pg_stat_user_tables s ON s.relid = i.inhrelid
    WHERE c.oid = '"Event"'::regclass
    GROUP BY c.reltuples`;
  if (stale) await database.$executeRaw`ANALYZE "Event"`;
  return stale;
}

/** Drops a day whose streams are all marked; false when the log was busy (the next run tries again). */
export async function dropPartition(database: Database, partition: string): Promise<boolean> {
  try {
    await database.$transaction([
      database.$executeRawUnsafe(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`),
      database.$executeRawUnsafe(`DROP TABLE "${checkedName(partition)}"`),
      database.$executeRaw`DELETE FROM "EventLogPrune" WHERE partition = ${partition}`,
    ]);
    return true;
  } catch (error) {
    if (sqlStateOf(error) === LOCK_NOT_AVAILABLE) return false;
    throw error;
  }
}

function checkedName(partition: string): string {
  if (!DAY_PARTITION.test(partition)) throw new Error(`not a day of the event log: ${partition}`);
  return partition;
}
