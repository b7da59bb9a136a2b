import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import { history } from './inbox.js';
import { categoryPreferences } from './preferences.js';
import { isExpired, type NotificationView } from './types.js';
import { LIMITS, badInput, isNotificationId } from './validation.js';
import { listedAsUnseen } from './visibility.js';

// What support needs to answer "why did this user not get that?": a notification as stored with
// who received it and what each did, and a user's history exactly as they see it, each with the
// reasons it is or is not waiting for them (expired, muted, seen or acknowledged). Admins only.

export async function storedNotification(database: Database, id: string) {
  const notification = isNotificationId(id)
    ? await database.notification.findUnique({ where: { id } })
    : null;
  if (!notification) throw new DomainError('NOT_FOUND', `no notification ${id}`);
  return notification;
}

/** A notification as one user sees it, with why it does or does not wait for them. */
export interface ExplainedView extends NotificationView {
  expired: boolean;
  muted: boolean;
  needsAttention: boolean;
}

/** `limit` notifications of the user's history before `beforeSeq`, as they see them, explained. */
export async function historyAsSeenBy(
  database: Database,
  userId: string,
  limit: number,
  beforeSeq: bigint | null,
): Promise<ExplainedView[]> {
  if (userId.length === 0 || userId.length > LIMITS.userIdLength) {
    badInput(`userId must be 1-${LIMITS.userIdLength} characters`);
  }
  const [views, preferences] = await Promise.all([
    history(database, userId, limit, beforeSeq),
    categoryPreferences(database, userId),
  ]);
  const muted = new Set(preferences.filter((p) => p.muted).map((p) => p.categoryName));
  const now = new Date();
  return views.map((view) => ({
    ...view,
    expired: isExpired(view, now),
    muted: muted.has(view.categoryName),
    needsAttention: listedAsUnseen(view, muted, now),
  }));
}
