import type { Notification, NotificationEventType } from '../generated/prisma/client.js';

export type { NotificationPriority, NotificationEventType } from '../generated/prisma/enums.js';

/** A notification as stored: the same for every recipient. */
export type NotificationRecord = Notification;

/** A user's own state of a notification: what their receipt (or their positions) say. */
export interface ReceiptTimes {
  seenAt: Date | null;
  acknowledgedAt: Date | null;
  archivedAt: Date | null;
  snoozedUntil: Date | null;
  /** When the user's state of it last changed; null: never (then it is its createdAt). */
  updatedAt: Date | null;
}

/**
 * A notification as one user sees it: with that user's own state, and how many of a group it
 * stands for in their inbox (from their receipt; 1 where unknown or ungrouped).
 */
export interface NotificationView extends NotificationRecord, ReceiptTimes {
  groupCount?: number;
}

/**
 * What a grouped send did in one user's inbox (on its CREATED event): it stands for groupCount
 * notifications, and, when it folded an earlier one, `replaces` names it, with what a live count
 * needs to take it out: whether it needed attention when folded, and when it expires. A later
 * UPDATED of a grouped one carries its groupCount too (replacing nothing).
 */
export interface Fold {
  groupCount: number;
  replaces: string | null;
  replacedCounted: boolean;
  replacedExpiresAt: Date | null;
}

export const PUBLIC_STREAM = 'public';
export const userStream = (userId: string) => `user:${userId}`;

/**
 * One entry of the event log as it travels to subscribers. `seq` is its position in `stream`;
 * for the user's own changes (SEEN, ARCHIVED, ...), `receipt` is their state once it happened
 * and `before` their state just before, from which a live count moves exactly.
 */
export interface StreamEvent {
  id: bigint;
  stream: string;
  seq: bigint;
  type: NotificationEventType;
  notification: NotificationRecord;
  receipt: ReceiptTimes | null;
  before?: ReceiptTimes | null;
  /** On the CREATED event of a grouped notification, in a user's stream. */
  fold?: Fold | null;
}

export const noReceipt: ReceiptTimes = {
  seenAt: null,
  acknowledgedAt: null,
  archivedAt: null,
  snoozedUntil: null,
  updatedAt: null,
};

/** Only the user's own state of a view, as a receipt holds it. */
export const receiptOf = (view: ReceiptTimes): ReceiptTimes => ({
  seenAt: view.seenAt,
  acknowledgedAt: view.acknowledgedAt,
  archivedAt: view.archivedAt,
  snoozedUntil: view.snoozedUntil,
  updatedAt: view.updatedAt,
});

export const viewOf = (
  notification: NotificationRecord,
  receipt: ReceiptTimes | null,
): NotificationView => ({ ...notification, ...(receipt ? receiptOf(receipt) : noReceipt) });

/** A logged event as its user sees its notification (a CREATED one with its group's count). */
export const eventView = (event: StreamEvent): NotificationView => {
  const view = viewOf(event.notification, event.receipt);
  return event.fold ? { ...view, groupCount: event.fold.groupCount } : view;
};

export const isExpired = (notification: NotificationRecord, now = new Date()) =>
  notification.expiresAt !== null && notification.expiresAt <= now;
