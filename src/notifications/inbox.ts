import { Prisma } from '../generated/prisma/client.js';
import type { Queryable } from '../db/client.js';
import type { SqlReader } from '../db/sql-reader.js';
import { PUBLIC_STREAM, userStream, type NotificationView } from './types.js';
import {
  countSql,
  newestVisibleSql,
  stateFromRow,
  unseenByCategorySql,
  unseenListSql,
  visibleSql,
  type CountRow,
  type InboxFilter,
} from './visibility.js';

// Step 2 of the process, as queries: what a user's inbox lists and counts. What "visible" and
// "unseen" mean is decided in visibility.ts.

/**
 * Not expired, archived or snoozed, and not seen, plus seen-but-unacknowledged require-ack ones,
 * leaving out muted categories and what `filter` does not match; newest first.
 */
export function unseenNotifications(
  database: SqlReader,
  userId: string,
  limit: number,
  filter: InboxFilter = {},
) {
  return database.$queryRaw<NotificationView[]>`${unseenListSql(userId, limit, filter)}`;
}

export async function unseenCount(
  database: SqlReader,
  userId: string,
  filter: InboxFilter = {},
): Promise<number> {
  return (await unseenSummary(database, userId, filter)).state.count;
}

/**
 * The count and what a live counter needs to keep it (see CountState), the database time it
 * was counted at, and the log position all this stands at: one statement, so one snapshot.
 */
export async function unseenSummary(database: SqlReader, userId: string, filter: InboxFilter = {}) {
  const [row] = await database.$queryRaw<
    (CountRow & { public: bigint | null; user: bigint | null })[]
  >`${unseenSummarySql(userId, filter)}`;
  return {
    state: stateFromRow(row!, filter),
    countedAt: row!.countedAt,
    cursor: { public: row!.public ?? 0n, user: row!.user ?? 0n },
  };
}

export const unseenSummarySql = (userId: string, filter: InboxFilter = {}) => Prisma.sql`
  SELECT c.*,
    (SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}) AS public,
    (SELECT seq FROM "Stream" WHERE id = ${userStream(userId)}) AS user
  FROM (${countSql(userId, filter)}) c`;

/** How many need attention per category: every category, or the filter's, by name. */
export function unseenByCategory(database: SqlReader, userId: string, filter: InboxFilter) {
  return database.$queryRaw<{ category: string; unseen: number }[]>`
    ${unseenByCategorySql(userId, filter)}`;
}

/** The history matching `filter`, newest first, `limit` items older than `beforeSeq`. */
export function history(
  database: Queryable,
  userId: string,
  limit: number,
  beforeSeq: bigint | null,
  filter: InboxFilter = {},
) {
  return database.$queryRaw<NotificationView[]>`
    ${newestVisibleSql(userId, beforeSeq, limit, filter)}`;
}

/** The notifications among `ids` that the user may see, as they see them. */
export function visibleByIds(database: Queryable, userId: string, ids: string[]) {
  return database.$queryRaw<NotificationView[]>`
    ${visibleSql(userId, Prisma.sql`n.id = ANY(${ids}::uuid[])`)}`;
}
