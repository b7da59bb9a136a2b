import { Prisma } from '../generated/prisma/client.js';
import type { Database, Queryable } from '../db/client.js';
import { PUBLIC_STREAM, userStream, type NotificationView } from './types.js';

// What a user can see: private notifications addressed to them (they have a receipt) and every
// public one. Two index-backed halves joined by UNION ALL, never a scan of others' rows.

const notExpired = Prisma.sql`(n."expiresAt" IS NULL OR n."expiresAt" > now())`;
/** Unseen, or seen but still awaiting a required acknowledgement. */
const needsAttention = Prisma.sql`(r."seenAt" IS NULL OR (n."requireAck" AND r."acknowledgedAt" IS NULL))`;

/** Not in a category the user muted. */
const notMuted = (userId: string) => Prisma.sql`NOT EXISTS (
  SELECT FROM "Preference" p
  WHERE p."userId" = ${userId} AND p."categoryName" = n."categoryName" AND p.muted)`;

/** What unseenNotifications lists and unseenCount counts. */
const unseen = (userId: string) =>
  Prisma.sql`${notExpired} AND ${needsAttention} AND ${notMuted(userId)}`;

function visible(userId: string, condition: Prisma.Sql) {
  return Prisma.sql`
    SELECT n.*, r."seenAt", r."acknowledgedAt" FROM "Receipt" r
      JOIN "Notification" n ON n.id = r."notificationId"
      WHERE r."userId" = ${userId} AND NOT n.public AND ${condition}
    UNION ALL
    SELECT n.*, r."seenAt", r."acknowledgedAt" FROM "Notification" n
      LEFT JOIN "Receipt" r ON r."notificationId" = n.id AND r."userId" = ${userId}
      WHERE n.public AND ${condition}`;
}

/**
 * The newest `limit` of `visible`. Each half is ordered and limited on its own first, so the
 * public half walks its (public, seq) index backwards and stops, instead of joining every
 * public notification before the sort.
 */
function newestVisible(userId: string, condition: Prisma.Sql, limit: number) {
  return Prisma.sql`
    (SELECT n.*, r."seenAt", r."acknowledgedAt" FROM "Receipt" r
      JOIN "Notification" n ON n.id = r."notificationId"
      WHERE r."userId" = ${userId} AND NOT n.public AND ${condition}
      ORDER BY n.seq DESC LIMIT ${limit})
    UNION ALL
    (SELECT n.*, r."seenAt", r."acknowledgedAt" FROM "Notification" n
      LEFT JOIN "Receipt" r ON r."notificationId" = n.id AND r."userId" = ${userId}
      WHERE n.public AND ${condition}
      ORDER BY n.seq DESC LIMIT ${limit})
    ORDER BY seq DESC LIMIT ${limit}`;
}

/**
 * Not expired and not seen, plus seen-but-unacknowledged require-ack ones, leaving out muted
 * categories; newest first.
 */
export function unseenNotifications(database: Queryable, userId: string, limit: number) {
  return database.$queryRaw<NotificationView[]>`${newestVisible(userId, unseen(userId), limit)}`;
}

export async function unseenCount(database: Queryable, userId: string): Promise<number> {
  return (await unseenSummary(database, userId)).count;
}

/**
 * The unseen count, when it next drops by itself (the soonest expiry among them), the muted
 * categories, and the log position all this stands at: one statement, so one snapshot.
 */
export async function unseenSummary(database: Queryable, userId: string) {
  const [row] = await database.$queryRaw<
    {
      count: bigint;
      nextExpiry: Date | null;
      muted: string[] | null;
      public: bigint | null;
      user: bigint | null;
    }[]
  >`
    SELECT count(*) AS count, min(v."expiresAt") AS "nextExpiry",
      (SELECT array_agg("categoryName") FROM "Preference" WHERE "userId" = ${userId} AND muted)
        AS muted,
      (SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}) AS public,
      (SELECT seq FROM "Stream" WHERE id = ${userStream(userId)}) AS user
    FROM (${visible(userId, unseen(userId))}) v`;
  return {
    count: Number(row!.count),
    nextExpiry: row!.nextExpiry,
    muted: row!.muted ?? [],
    cursor: { public: row!.public ?? 0n, user: row!.user ?? 0n },
  };
}

/** The whole history, newest first, `limit` items older than `beforeSeq`. */
export function history(
  database: Database,
  userId: string,
  limit: number,
  beforeSeq: bigint | null,
) {
  const condition = beforeSeq === null ? Prisma.sql`TRUE` : Prisma.sql`n.seq < ${beforeSeq}`;
  return database.$queryRaw<NotificationView[]>`${newestVisible(userId, condition, limit)}`;
}

/** The notifications among `ids` that the user may see, as they see them. */
export function visibleByIds(database: Database, userId: string, ids: string[]) {
  return database.$queryRaw<NotificationView[]>`
    ${visible(userId, Prisma.sql`n.id = ANY(${ids}::uuid[])`)}`;
}
