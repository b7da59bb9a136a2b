import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import {
  appendEvents,
  appendEventsSql,
  pruneEventsBefore,
  toStreamEvents,
  tombstoneOf,
  type AppendedRow,
  type EventDraft,
} from './event-log.js';
import {
  analyzeLogWhenStale,
  createPartitionsAhead,
  dropPartition,
  markStreamsStep,
  partitionsEndedBefore,
} from './event-log-partitions.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { IDEMPOTENCY_WINDOW } from './send-statement.js';
import { PUBLIC_STREAM, userStream, type NotificationRecord } from './types.js';

// Step 6 of the process: deletion time comes. Due notifications go with every row that refers
// to them; each audience gets a DELETED event so open inboxes drop them.
//
// A run is bounded by the rows it touches, not by notifications: one notification may have a
// million receipts. Each statement touches at most ROWS_PER_STEP rows (plus, for receipts, one
// DELETED event per private recipient) and commits on its own, so no transaction runs for long
// and whatever a run did stays done: the next run goes on where it stopped. Each step deletes
// `= ANY(ARRAY(subquery))`, the rows found through an index, never a join that may scan a table.

export interface RetentionDeps extends PublishDeps {
  database: Database;
  config: Pick<Config, 'EVENT_LOG_RETENTION_SECONDS' | 'RETENTION_MAX_ROWS_PER_RUN'>;
}

/** Rows one statement deletes at most; a receipt step also appends up to as many events. */
export const ROWS_PER_STEP = 1000;
/** Due notifications taken apart together. Their rows go in steps, so this bounds only the list. */
const NOTIFICATIONS_PER_PASS = 100;

/** What one run did: `rows` touched in all, the most by one statement, and whether it is all done. */
export interface RunReport {
  rows: number;
  largestStep: number;
  done: boolean;
}

/** Counts rows against a run's allowance. */
class Budget {
  rows = 0;
  largestStep = 0;
  constructor(private readonly max: number) {}

  get exhausted() {
    return this.rows >= this.max;
  }

  spend(rows: number) {
    this.rows += rows;
    this.largestStep = Math.max(this.largestStep, rows);
  }

  report(done: boolean): RunReport {
    return { rows: this.rows, largestStep: this.largestStep, done };
  }
}

/**
 * Repeats `step` (which deletes up to ROWS_PER_STEP rows and says how many, and how many rows
 * it touched in all) until it finds less than a full step to do; false when the budget ran out
 * first.
 */
async function inSteps(
  budget: Budget,
  step: () => Promise<{ deleted: number; touched: number }>,
): Promise<boolean> {
  while (!budget.exhausted) {
    const { deleted, touched } = await step();
    budget.spend(touched);
    if (deleted < ROWS_PER_STEP) return true;
  }
  return false;
}

/** Deletes due notifications, oldest deleteAt first, within RETENTION_MAX_ROWS_PER_RUN rows. */
export async function deleteDueNotifications(
  deps: RetentionDeps,
): Promise<RunReport & { deleted: number }> {
  const budget = new Budget(deps.config.RETENTION_MAX_ROWS_PER_RUN);
  let deleted = 0;
  while (!budget.exhausted) {
    const due = await deps.database.$queryRaw<NotificationRecord[]>`
      SELECT * FROM "Notification" WHERE "deleteAt" <= now()
      ORDER BY "deleteAt" LIMIT ${NOTIFICATIONS_PER_PASS}`;
    if (due.length === 0) return { deleted, ...budget.report(true) };
    const taken = await takeApart(deps, due, budget);
    deleted += taken.deleted;
    if (!taken.finished) break;
  }
  return { deleted, ...budget.report(false) };
}

/**
 * Deletes one notification now (support's deleteNotification), as the job would at its deleteAt:
 * every row that refers to it goes and its audience gets DELETED. Within a run's allowance of
 * rows; for one with more receipts than that, its deleteAt is now, so the job finishes the rest.
 * False when there is no such notification.
 */
export async function deleteNotificationNow(deps: RetentionDeps, id: string): Promise<boolean> {
  const [due] = await deps.database.$queryRaw<NotificationRecord[]>`
    UPDATE "Notification" SET "deleteAt" = LEAST("deleteAt", now()) WHERE id = ${id}::uuid
    RETURNING *`;
  if (!due) return false;
  await takeApart(deps, [due], new Budget(deps.config.RETENTION_MAX_ROWS_PER_RUN));
  return true;
}

/**
 * Their log entries first, then the receipts (telling each private recipient), and the
 * notifications last, so an interrupted run leaves nothing behind that points nowhere.
 */
async function takeApart(deps: RetentionDeps, due: NotificationRecord[], budget: Budget) {
  const ids = due.map((notification) => notification.id);
  const finished =
    (await inSteps(budget, () => deleteEventsStep(deps.database, ids))) &&
    (await inSteps(budget, () => deleteReceiptsStep(deps, due)));
  if (!finished) return { finished, deleted: 0 };
  const gone = await deleteNotifications(deps, due);
  budget.spend(gone.touched);
  return { finished, deleted: gone.deleted };
}

/** Up to ROWS_PER_STEP log entries of the notifications, except DELETED tombstones. */
async function deleteEventsStep(database: Database, ids: string[]) {
  const deleted = await database.$executeRaw`
    DELETE FROM "Event" WHERE id = ANY(ARRAY(
      SELECT id FROM "Event"
      WHERE "notificationId" = ANY(${ids}::uuid[]) AND type <> 'DELETED'
      LIMIT ${ROWS_PER_STEP}))`;
  return { deleted, touched: deleted };
}

/**
 * Up to ROWS_PER_STEP receipts of the notifications, with a DELETED event for each private
 * recipient, in one statement: only the statement that deleted a receipt tells its user, so
 * each is told once even if two runs overlap, and no transaction waits on a round trip.
 */
async function deleteReceiptsStep(deps: RetentionDeps, due: NotificationRecord[]) {
  const byId = new Map(due.map((notification) => [notification.id, notification]));
  const secret = due.filter((notification) => !notification.public);
  const [result] = await deps.database.$queryRaw<{ receipts: bigint; events: AppendedRow[] }[]>`
    WITH gone AS (
      DELETE FROM "Receipt" WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM "Receipt"
        WHERE "notificationId" = ANY(${[...byId.keys()]}::uuid[])
        LIMIT ${ROWS_PER_STEP}))
      RETURNING "notificationId", "userId"),
    ${appendEventsSql(Prisma.sql`
      SELECT ${userStream('')} || g."userId" AS stream, 'DELETED'::"NotificationEventType" AS type,
             g."notificationId", t.tombstone, NULL::jsonb AS state,
             row_number() OVER (ORDER BY g."userId", g."notificationId") AS ord
      FROM gone g JOIN unnest(
        ${secret.map((notification) => notification.id)}::uuid[],
        ${secret.map((notification) => JSON.stringify(tombstoneOf(notification)))}::jsonb[]
      ) AS t(id, tombstone) ON t.id = g."notificationId"`)}
    SELECT (SELECT count(*) FROM gone) AS receipts,
           COALESCE((SELECT json_agg(events) FROM events), '[]') AS events`;
  const rows = result!.events;
  const drafts = rows.map((row) => tombstoneDraft(row.stream, byId.get(row.notificationId)!));
  const events = toStreamEvents(drafts, rows);
  await publishCommitted(deps, events);
  const deleted = Number(result!.receipts);
  return { deleted, touched: deleted + events.length };
}

/** The notifications themselves, with the public stream's DELETED for public ones. */
async function deleteNotifications(deps: RetentionDeps, due: NotificationRecord[]) {
  const byId = new Map(due.map((notification) => [notification.id, notification]));
  const { deleted, events } = await deps.database.$transaction(async (tx) => {
    // The public stream's head (which the tally trigger takes) before any notification row, in
    // the order markAllSeen takes them, so that neither holds what the other waits for.
    if (due.some((notification) => notification.public)) {
      await tx.$executeRaw`SELECT public_tally_lock()`;
    }
    // A receipt marking a public one seen since the receipt step goes with it (cascade).
    const gone = await tx.$queryRaw<{ id: string }[]>`
      DELETE FROM "Notification" WHERE id = ANY(${[...byId.keys()]}::uuid[]) RETURNING id::text`;
    const drafts = gone
      .map(({ id }) => byId.get(id)!)
      .filter((notification) => notification.public)
      .map((notification) => tombstoneDraft(PUBLIC_STREAM, notification));
    return { deleted: gone.length, events: await appendEvents(tx, drafts) };
  });
  await publishCommitted(deps, events);
  return { deleted, touched: deleted + events.length };
}

const tombstoneDraft = (stream: string, notification: NotificationRecord): EventDraft => ({
  stream,
  notification,
  type: 'DELETED',
  tombstone: true,
});

/**
 * Forgets what is only kept for a while: old log entries and expired idempotency keys, within
 * RETENTION_MAX_ROWS_PER_RUN rows. Runs whether or not deletion did.
 */
export async function pruneLogs(deps: RetentionDeps): Promise<
  RunReport & {
    events: number;
    idempotencyKeys: number;
    partitionsDropped: number;
    logAnalyzed: boolean;
  }
> {
  const budget = new Budget(deps.config.RETENTION_MAX_ROWS_PER_RUN);
  const cutoff = new Date(Date.now() - deps.config.EVENT_LOG_RETENTION_SECONDS * 1000);
  const pruned = { events: 0, idempotencyKeys: 0, partitionsDropped: 0 };
  await createPartitionsAhead(deps.database);
  const daysDone = await dropDaysEndedBefore(deps.database, cutoff, budget, pruned);
  // What is left before the cutoff lies in the day it falls in or in the default partition.
  const eventsDone =
    daysDone &&
    (await inSteps(budget, async () => {
      const deleted = await pruneEventsBefore(deps.database, cutoff, ROWS_PER_STEP);
      pruned.events += deleted;
      return { deleted, touched: deleted };
    }));
  const keysDone =
    eventsDone &&
    (await inSteps(budget, async () => {
      const deleted = await deps.database.$executeRaw`
        DELETE FROM "IdempotencyKey" WHERE ctid = ANY(ARRAY(
          SELECT ctid FROM "IdempotencyKey"
          WHERE "createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval LIMIT ${ROWS_PER_STEP}))`;
      pruned.idempotencyKeys += deleted;
      return { deleted, touched: deleted };
    }));
  const logAnalyzed = await analyzeLogWhenStale(deps.database);
  return { ...pruned, logAnalyzed, ...budget.report(keysDone) };
}

/**
 * Drops the log's days that ended before `cutoff` whole (see event-log-partitions.ts), oldest
 * first; false when the budget ran out or the log was too busy to drop one.
 */
async function dropDaysEndedBefore(
  database: Database,
  cutoff: Date,
  budget: Budget,
  pruned: { partitionsDropped: number },
): Promise<boolean> {
  for (const day of await partitionsEndedBefore(database, cutoff)) {
    const marked = await inSteps(budget, async () => {
      const streams = await markStreamsStep(database, day, ROWS_PER_STEP);
      return { deleted: streams, touched: streams };
    });
    if (!marked || !(await dropPartition(database, day))) return false;
    pruned.partitionsDropped += 1;
  }
  return true;
}

/**
 * Takes expired public notifications out of the tallies that count them (PublicTally, kept by
 * triggers; see visibility.ts), within RETENTION_MAX_ROWS_PER_RUN rows. They expire at whatever
 * time their send chose, so each is settled on its own. Until then counts subtract them from the
 * tallies themselves: how often this runs decides how many such rows a count reads, never
 * whether it is exact.
 */
export async function settlePublicExpiries(deps: RetentionDeps): Promise<RunReport> {
  const budget = new Budget(deps.config.RETENTION_MAX_ROWS_PER_RUN);
  const done = await inSteps(budget, async () => {
    const [{ settled }] = await deps.database.$queryRaw<[{ settled: number }]>`
      SELECT settle_public_expiries(${ROWS_PER_STEP}::int) AS settled`;
    return { deleted: settled, touched: settled };
  });
  return budget.report(done);
}
