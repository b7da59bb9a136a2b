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

/** A notification as one user sees it: with that user's own state. */
export interface NotificationView extends NotificationRecord, ReceiptTimes {}

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

export const isExpired = (notification: NotificationRecord, now = new Date()) =>
  notification.expiresAt !== null && notification.expiresAt <= now;
