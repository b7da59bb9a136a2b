import type { Database } from '../db/client.js';
import type { Catalog } from './catalog.js';
import type { NotificationPriority } from './types.js';
import { checkName, checkPositiveSeconds } from './validation.js';

export interface CategoryInput {
  name: string;
  expireAfterSeconds?: number | null;
  deleteAfterSeconds?: number | null;
  requireAck: boolean;
  priority: NotificationPriority;
  batchWindowSeconds?: number | null;
}

/** Creates the category or replaces its settings; notifications already sent keep theirs. */
export async function upsertCategory(
  { database, catalog }: { database: Database; catalog: Pick<Catalog, 'changed'> },
  input: CategoryInput,
) {
  checkName('name', input.name);
  checkPositiveSeconds('expireAfterSeconds', input.expireAfterSeconds);
  checkPositiveSeconds('deleteAfterSeconds', input.deleteAfterSeconds);
  checkPositiveSeconds('batchWindowSeconds', input.batchWindowSeconds);
  const settings = {
    expireAfterSeconds: input.expireAfterSeconds ?? null,
    deleteAfterSeconds: input.deleteAfterSeconds ?? null,
    requireAck: input.requireAck,
    priority: input.priority,
    batchWindowSeconds: input.batchWindowSeconds ?? null,
  };
  const category = await database.category.upsert({
    where: { name: input.name },
    create: { name: input.name, ...settings },
    update: settings,
  });
  // Sends on every instance use the new settings from their next send.
  await catalog.changed();
  return category;
}
