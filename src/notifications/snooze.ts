import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import { changeOwnState, type Deps } from './own-state.js';
import type { NotificationView } from './types.js';

// Snoozing: a snoozed notification leaves the user's unseen list and count until its time, when
// the waker (jobs/snooze-waker.ts) ends the snooze with an UNSNOOZED event, and it is back.

/** How far ahead a snooze may run. */
const MAX_SNOOZE_DAYS = 366;

/** Snoozes a notification until `until`; snoozing it again moves the time. */
export async function snooze(
  deps: Deps,
  userId: string,
  id: string,
  until: Date,
): Promise<NotificationView> {
  const [view] = await changeOwnState(deps, userId, [id], 'SNOOZED', (view, now) => {
    if (until <= now) throw new DomainError('BAD_USER_INPUT', 'until must be in the future');
    if (until.getTime() - now.getTime() > MAX_SNOOZE_DAYS * 86_400_000) {
      throw new DomainError('BAD_USER_INPUT', `until must be within ${MAX_SNOOZE_DAYS} days`);
    }
    if (view.archivedAt) {
      throw new DomainError('BAD_USER_INPUT', 'an archived notification cannot be snoozed');
    }
    return view.snoozedUntil?.getTime() === until.getTime() ? null : { snoozedUntil: until };
  });
  return view!;
}

/**
 * Ends up to `limit` snoozes that are due, earliest first; answers how many it found due. Each
 * is one change of its user's state, made only while it is still due: an instance that finds
 * one another instance ended already changes nothing, so each ends once, with one event.
 */
export async function wakeDueSnoozes(deps: Deps, limit: number): Promise<number> {
  const due = await dueSnoozes(deps.database, limit);
  for (const { userId, notificationId } of due) {
    await changeOwnState(deps, userId, [notificationId], 'UNSNOOZED', (view, now) =>
      view.snoozedUntil && view.snoozedUntil <= now ? { snoozedUntil: null } : null,
    ).catch((error: unknown) => {
      // Deleted since it was found: its receipt went with it.
      if (!(error instanceof DomainError && error.code === 'NOT_FOUND')) throw error;
    });
  }
  return due.length;
}

const dueSnoozes = (database: Database, limit: number) =>
  database.$queryRaw<{ userId: string; notificationId: string }[]>`
    SELECT "userId", "notificationId"::text FROM "Receipt"
    WHERE "snoozedUntil" <= now() ORDER BY "snoozedUntil" LIMIT ${limit}`;
