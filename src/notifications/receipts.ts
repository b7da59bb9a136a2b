import { DomainError } from '../errors.js';
import { changeAll, changeOwnState, type Deps } from './own-state.js';
import type { NotificationView } from './types.js';
import { markAllSeenSql } from './visibility.js';

// Steps 3 and 4 of the process: a user sees a notification (or takes that back), and
// acknowledges it. Each is a change of the user's own state (own-state.ts).

/** Marks the notifications seen (all or none); only ones not seen before make a SEEN event. */
export function markSeen(deps: Deps, userId: string, ids: string[]): Promise<NotificationView[]> {
  return changeOwnState(deps, userId, ids, 'SEEN', (view, now) =>
    view.seenAt ? null : { seenAt: now },
  );
}

/** Marks the notifications unseen again (all or none): they need attention again. */
export function markUnseen(deps: Deps, userId: string, ids: string[]): Promise<NotificationView[]> {
  return changeOwnState(deps, userId, ids, 'UNSEEN', (view) =>
    view.seenAt ? { seenAt: null } : null,
  );
}

/**
 * Marks everything the user has not seen yet as seen, at once: their public position moves to
 * the newest public notification, their unseen receipts are updated in one statement, and one
 * ALL_SEEN event tells their subscribers. Returns how many it marked.
 */
export function markAllSeen(deps: Deps, userId: string): Promise<number> {
  return changeAll(deps, userId, markAllSeenSql(userId), 'ALL_SEEN');
}

/** Acknowledges a require-ack notification (seeing it too); repeating it changes nothing. */
export async function acknowledge(
  deps: Deps,
  userId: string,
  id: string,
): Promise<NotificationView> {
  const [view] = await changeOwnState(deps, userId, [id], 'ACKNOWLEDGED', (view, now) => {
    if (!view.requireAck) {
      throw new DomainError('BAD_USER_INPUT', 'this notification does not ask to be acknowledged');
    }
    return view.acknowledgedAt ? null : { acknowledgedAt: now, seenAt: view.seenAt ?? now };
  });
  return view!;
}
