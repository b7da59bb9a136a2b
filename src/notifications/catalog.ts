import type { Database } from '../db/client.js';
import { createReadCache } from '../db/read-cache.js';
import type { Category, Template } from '../generated/prisma/client.js';
import type { EventBus } from './event-bus.js';

// Categories and templates, which every send reads and admins rarely change, kept in the
// process. A change is committed first, then forgotten here and signalled on the bus, so every
// instance reads it again on its next send; a bus that was away (resync) clears them too, and
// an entry lives CATALOG_TTL_MS at most should a signal be lost.

/** A name no event stream can have (those are `public` and `user:<id>`). */
const CATALOG_SIGNAL = 'catalog';
const CATALOG_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

export interface Catalog {
  category(name: string): Promise<Category | null>;
  template(key: string): Promise<Template | null>;
  /** After a category or template change has committed: every instance reads them again. */
  changed(): Promise<void>;
  close(): void;
}

export function createCatalog({ database, bus }: { database: Database; bus: EventBus }): Catalog {
  const options = { ttlMs: CATALOG_TTL_MS, maxEntries: MAX_ENTRIES };
  const categories = createReadCache({
    ...options,
    read: (name) => database.category.findUnique({ where: { name } }),
  });
  const templates = createReadCache({
    ...options,
    read: (key) => database.template.findUnique({ where: { key } }),
  });
  const clear = () => {
    categories.clear();
    templates.clear();
  };
  const stopSignals = bus.onSignal(CATALOG_SIGNAL, clear);
  const stopResync = bus.onResync(clear);
  return {
    category: (name) => categories.get(name),
    template: (key) => templates.get(key),
    // The bus signals this instance too, at once, before it tells the others.
    changed: () => bus.signal(CATALOG_SIGNAL),
    close() {
      stopSignals();
      stopResync();
    },
  };
}
