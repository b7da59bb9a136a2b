import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { MIGRATIONS_DIR, applyMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

const logger = createLogger('silent');

/**
 * A fresh database with the migrations before the one named `*_<migration>`, as a deployment
 * from before it has them; `migrate()` then applies the rest, as an upgrade does.
 */
export async function databaseBefore(migration: string) {
  const before = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const index = names.findIndex((name) => name.endsWith(`_${migration}`));
  expect(index, `a migration named *_${migration}`).toBeGreaterThan(0);
  for (const name of names.slice(0, index)) {
    await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
  }
  const database: TestDatabase = await createTestDatabase();
  await applyMigrations(database.url, logger, before);
  return {
    url: database.url,
    migrate: () => applyMigrations(database.url, logger),
    async remove() {
      await database.drop();
      await rm(before, { recursive: true, force: true });
    },
  };
}
