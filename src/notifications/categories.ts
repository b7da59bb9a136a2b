import type { Database } from '../db/client.js';
import type { Catalog } from './catalog.js';
import { DomainError } from '../errors.js';
import type { NotificationPriority } from './types.js';
import { badInput, checkName, checkPositiveSeconds } from './validation.js';

export interface CategoryInput {
  name: string;
  expireAfterSeconds?: number | null;
  deleteAfterSeconds?: number | null;
  requireAck: boolean;
  priority: NotificationPriority;
  batchWindowSeconds?: number | null;
  escalateAfterSeconds?: number | null;
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
  checkPositiveSeconds('escalateAfterSeconds', input.escalateAfterSeconds);
  if (input.escalateAfterSeconds != null && !input.requireAck) {
    badInput('escalateAfterSeconds is only for categories with requireAck');
  }
  const settings = {
    expireAfterSeconds: input.expireAfterSeconds ?? null,
    deleteAfterSeconds: input.deleteAfterSeconds ?? null,
    requireAck: input.requireAck,
    priority: input.priority,
    batchWindowSeconds: input.batchWindowSeconds ?? null,
    escalateAfterSeconds: input.escalateAfterSeconds ?? null,
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

/**
 * Deletes a category with its users' preferences for it. Refused while notifications of it exist:
 * they were sent to people who may still need them (a require-ack one especially), and the
 * category decides how they are shown. They go at their deleteAt, or sooner through
 * deleteNotification. The foreign key decides, in the same statement as the delete, so a send
 * that takes the category meanwhile cannot be orphaned.
 */
export async function deleteCategory(
  { database, catalog }: { database: Database; catalog: Pick<Catalog, 'changed'> },
  name: string,
) {
  try {
    const category = await database.category.delete({ where: { name } });
    // Sends on every instance stop finding it from their next send.
    await catalog.changed();
    return category;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'P2025') throw new DomainError('UNKNOWN_CATEGORY', `no category "${name}"`);
    if (code === 'P2003') {
      throw new DomainError(
        'CATEGORY_IN_USE',
        `category "${name}" still has notifications: delete them (deleteNotification) or wait for their deleteAt`,
      );
    }
    throw error;
  }
}
