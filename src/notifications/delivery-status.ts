import type { Viewer } from '../auth/viewer.js';
import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { Notification, Receipt } from '../generated/prisma/client.js';
import type { Deps } from './own-state.js';
import { markSeen } from './receipts.js';
import type { NotificationView } from './types.js';
import { LIMITS, badInput, checkIds, isNotificationId } from './validation.js';

// What a sending service learns of its notification after the send: how many got it, saw it and
// acknowledged it, and who. A service sees only its own sends (another's answers NOT_FOUND, as
// if it did not exist); admins see any.

/**
 * The notification `id` if `viewer` sent it or is an admin; NOT_FOUND otherwise, so a service
 * cannot learn what other services sent.
 */
export async function sentNotification(
  database: Database,
  viewer: Viewer,
  id: string,
): Promise<Notification> {
  const notification = isNotificationId(id)
    ? await database.notification.findUnique({ where: { id } })
    : null;
  if (notification && canSeeSend(viewer, notification)) return notification;
  throw new DomainError('NOT_FOUND', `no notification ${id}`);
}

const canSeeSend = (viewer: Viewer, notification: Pick<Notification, 'sender'>) =>
  (viewer.kind === 'service' && viewer.service === notification.sender) ||
  (viewer.kind === 'user' && viewer.admin);

export interface DeliveryCounts {
  /** Null for a public notification: everyone is a recipient. */
  recipientCount: number | null;
  seenCount: number;
  acknowledgedCount: number;
}

/**
 * Counts through the (notificationId, userId) index. A public notification's seen count also
 * holds the users whose markAllSeen position passed it without a receipt of it.
 */
export async function deliveryCounts(
  database: Database,
  notification: Notification,
): Promise<DeliveryCounts> {
  const [row] = await database.$queryRaw<
    { recipients: bigint; seen: bigint; acknowledged: bigint; seenByPosition: bigint }[]
  >`
    SELECT count(*) AS recipients,
      count(*) FILTER (WHERE "seenAt" IS NOT NULL) AS seen,
      count(*) FILTER (WHERE "acknowledgedAt" IS NOT NULL) AS acknowledged,
      CASE WHEN ${notification.public} THEN (
        SELECT count(*) FROM "InboxState" s
        WHERE s."publicSeenSeq" >= ${notification.seq}
          AND NOT EXISTS (SELECT FROM "Receipt" r WHERE r."userId" = s."userId"
            AND r."notificationId" = ${notification.id}::uuid AND r."seenAt" IS NOT NULL))
      ELSE 0 END AS "seenByPosition"
    FROM "Receipt" WHERE "notificationId" = ${notification.id}::uuid`;
  return {
    recipientCount: notification.public ? null : Number(row!.recipients),
    seenCount: Number(row!.seen) + Number(row!.seenByPosition),
    acknowledgedCount: Number(row!.acknowledged),
  };
}

export interface ReceiptFilter {
  seen?: boolean | null;
  acknowledged?: boolean | null;
}

/**
 * Up to `limit` receipts of a notification, in user order after `afterUserId`, as `filter` asks,
 * through the (notificationId, userId) index. A private notification has one per recipient from
 * the send; a public one only for users who marked it seen or acknowledged it (markAllSeen moves
 * a position instead).
 */
export function receiptsOf(
  database: Database,
  notificationId: string,
  limit: number,
  afterUserId: string | null,
  filter: ReceiptFilter = {},
): Promise<Receipt[]> {
  const given = (value: boolean | null | undefined) =>
    value == null ? undefined : value ? { not: null } : null;
  return database.receipt.findMany({
    where: {
      notificationId,
      ...(afterUserId !== null && { userId: { gt: afterUserId } }),
      ...(given(filter.seen) !== undefined && { seenAt: given(filter.seen) }),
      ...(given(filter.acknowledged) !== undefined && {
        acknowledgedAt: given(filter.acknowledged),
      }),
    },
    orderBy: { userId: 'asc' },
    take: limit,
  });
}

/**
 * Marks `ids` seen for `userId` on behalf of the service that sent them (the user opened the
 * e-mail or push that carried them): their devices get SEEN as if they had done it. All or none:
 * NOT_FOUND for an id the service did not send (admins: any) or the user does not have.
 */
export async function markSeenFor(
  deps: Deps,
  viewer: Viewer,
  userId: string,
  ids: string[],
): Promise<NotificationView[]> {
  if (userId.length === 0 || userId.length > LIMITS.userIdLength) {
    badInput(`userId must be 1-${LIMITS.userIdLength} characters`);
  }
  checkIds(ids);
  const unique = [...new Set(ids)];
  const malformed = unique.find((id) => !isNotificationId(id));
  if (malformed) throw new DomainError('NOT_FOUND', `no notification ${malformed}`);
  const sent = await deps.database.notification.findMany({
    where: { id: { in: unique } },
    select: { id: true, sender: true },
  });
  const own = new Set(sent.filter((row) => canSeeSend(viewer, row)).map((row) => row.id));
  const foreign = unique.find((id) => !own.has(id));
  if (foreign) throw new DomainError('NOT_FOUND', `no notification ${foreign}`);
  return markSeen(deps, userId, ids);
}
