import type { Notification, NotificationEventType } from '../generated/prisma/client.js';

export type { NotificationPriority, NotificationEventType } from '../generated/prisma/enums.js';

/** A notification as stored: the same for every recipient. */
export type NotificationRecord = Notification;

/** A notification as one user sees it: with that user's own seen/acknowledged times. */
export interface NotificationView extends NotificationRecord {
  seenAt: Date | null;
  acknowledgedAt: Date | null;
}

export interface ReceiptTimes {
  seenAt: Date | null;
  acknowledgedAt: Date | null;
}

export const PUBLIC_STREAM = 'public';
export const userStream = (userId: string) => `user:${userId}`;

/**
 * One entry of the event log as it travels to subscribers. `seq` is its position in `stream`;
 * `receipt` is the acting user's, for SEEN and ACKNOWLEDGED.
 */
export interface StreamEvent {
  id: bigint;
  stream: string;
  seq: bigint;
  type: NotificationEventType;
  notification: NotificationRecord;
  receipt: ReceiptTimes | null;
}

export const noReceipt: ReceiptTimes = { seenAt: null, acknowledgedAt: null };

export const viewOf = (
  notification: NotificationRecord,
  receipt: ReceiptTimes | null,
): NotificationView => ({ ...notification, ...(receipt ?? noReceipt) });

export const isExpired = (notification: NotificationRecord, now = new Date()) =>
  notification.expiresAt !== null && notification.expiresAt <= now;
