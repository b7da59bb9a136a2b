import { Prisma } from '../generated/prisma/client.js';
import type { Queryable } from '../db/client.js';
import { PUBLIC_STREAM, userStream, type NotificationView } from './types.js';
import {
  countSql,
  newestVisibleSql,
  stateFromRow,
  unseenListSql,
  visibleSql,
  type CountRow,
} from './visibility.js';

// Step 2 of the process, as queries: what a user's inbox lists and counts. What "visible" and
// "unseen" mean is decided in visibility.ts.

/**
 * Not expired and not seen, plus seen-but-unacknowledged require-ack ones, leaving out muted
 * categories; newest first.
 */
export function unseenNotifications(database: Queryable, userId: string, limit: number) {
  return database.$queryRaw<NotificationView[]>`${unseenListSql(userId, limit)}`;
}

export async function unseenCount(database: Queryable, userId: string): Promise<number> {
  return (await unseenSummary(database, userId)).state.count;
}

/**
 * The count and what a live counter needs to keep it (see CountState), the database time it
 * was counted at, and the log position all this stands at: one statement, so one snapshot.
 */
export async function unseenSummary(database: Queryable, userId: string) {
  const [row] = await database.$queryRaw<
    (CountRow & { public: bigint | null; user: bigint | null })[]
  >`${unseenSummarySql(userId)}`;
  return {
    state: stateFromRow(row!),
    countedAt: row!.countedAt,
    cursor: { public: row!.public ?? 0n, user: row!.user ?? 0n },
  };
}

export const unseenSummarySql = (userId: string) => Prisma.sql`
  SELECT c.*,
    (SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}) AS public,
    (SELECT seq FROM "Stream" WHERE id = ${userStream(userId)}) AS user
  FROM (${countSql(userId)}) c`;

/** The whole history, newest first, `limit` items older than `beforeSeq`. */
export function history(
  database: Queryable,
  userId: string,
  limit: number,
  beforeSeq: bigint | null,
) {
  const condition = beforeSeq === null ? Prisma.sql`TRUE` : Prisma.sql`n.seq < ${beforeSeq}`;
  return database.$queryRaw<NotificationView[]>`${newestVisibleSql(userId, condition, limit)}`;
}

/** The notifications among `ids` that the user may see, as they see them. */
export function visibleByIds(database: Queryable, userId: string, ids: string[]) {
  return database.$queryRaw<NotificationView[]>`
    ${visibleSql(userId, Prisma.sql`n.id = ANY(${ids}::uuid[])`)}`;
}
