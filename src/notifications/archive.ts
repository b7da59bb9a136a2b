import { DomainError } from '../errors.js';
import { changeAll, changeOwnState, type Deps } from './own-state.js';
import type { NotificationView } from './types.js';
import { archiveAllSql, type InboxFilter } from './visibility.js';

// Dismissing: an archived notification leaves the user's unseen list and count and stays in
// their history under ARCHIVED. One that still asks for an acknowledgement cannot be archived.

/** Archives the notifications (all or none), ending any snooze of theirs. */
export function archive(deps: Deps, userId: string, ids: string[]): Promise<NotificationView[]> {
  return changeOwnState(deps, userId, ids, 'ARCHIVED', (view, now) => {
    if (view.requireAck && !view.acknowledgedAt) {
      throw new DomainError(
        'ACKNOWLEDGEMENT_REQUIRED',
        `notification ${view.id} must be acknowledged before it can be archived`,
      );
    }
    return view.archivedAt ? null : { archivedAt: now, snoozedUntil: null };
  });
}

/** Takes the notifications back from the archive (all or none). */
export function unarchive(deps: Deps, userId: string, ids: string[]): Promise<NotificationView[]> {
  return changeOwnState(deps, userId, ids, 'UNARCHIVED', (view) =>
    view.archivedAt ? { archivedAt: null } : null,
  );
}

/**
 * Clears all: archives everything matching `filter` (status ALL, SEEN or SNOOZED) except what
 * still waits for an acknowledgement, in one transaction, writing a position per category and
 * priority for the public ones rather than a row each; one ALL_ARCHIVED event tells the user's
 * subscribers. Returns how many it archived.
 */
export async function archiveAll(deps: Deps, userId: string, filter: InboxFilter): Promise<number> {
  if (filter.status === 'UNSEEN') {
    throw new DomainError(
      'BAD_USER_INPUT',
      'archiveAll clears all (status ALL), the seen (SEEN) or the snoozed (SNOOZED) ones; archive unseen ones by id',
    );
  }
  if (filter.status === 'ARCHIVED') return 0;
  return changeAll(deps, userId, archiveAllSql(userId, filter), 'ALL_ARCHIVED');
}
