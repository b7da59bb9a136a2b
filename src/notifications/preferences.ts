import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { EventBus } from './event-bus.js';
import { userStream } from './types.js';
import { badInput } from './validation.js';

// A user's per-category choices. A muted category is left out of live delivery, of
// unseenNotifications and of unseenCount; its notifications stay in the history.

export interface PreferenceDeps {
  database: Database;
  bus: EventBus;
}

export async function setCategoryPreference(
  { database, bus }: PreferenceDeps,
  userId: string,
  categoryName: string,
  muted: boolean,
) {
  const category = await database.category.findUnique({ where: { name: categoryName } });
  if (!category) throw new DomainError('UNKNOWN_CATEGORY', `no category "${categoryName}"`);
  if (muted && category.requireAck) {
    badInput(`"${categoryName}" requires acknowledgement and cannot be muted`);
  }
  const preference = await database.preference.upsert({
    where: { userId_categoryName: { userId, categoryName } },
    create: { userId, categoryName, muted },
    update: { muted },
  });
  // The user's open subscriptions, on every instance, read their mutes (and count) again.
  await bus.signal(userStream(userId)).catch(() => {});
  return preference;
}

export function categoryPreferences(database: Database, userId: string) {
  return database.preference.findMany({ where: { userId }, orderBy: { categoryName: 'asc' } });
}
