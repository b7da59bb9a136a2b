import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { getCreateIndexesSQL, getCreateTableSQL } from '@agendajs/postgres-backend';
import type { Logger } from '../logger.js';

// Applies prisma/migrations the way `prisma migrate deploy` does (Prisma's CLI cannot download
// its schema engine everywhere this service runs), so that either tool can manage a database.

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
export const AGENDA_TABLE = 'agenda_jobs';

/** The advisory lock key `prisma migrate` takes, so the CLI and the service exclude each other. */
const PRISMA_MIGRATE_LOCK = 72707369;

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export class MigrationError extends Error {}

async function readMigrations(directory: string): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies every pending migration under an advisory lock, so instances starting together apply
 * each one once. Returns the names of the migrations this call applied.
 */
export async function applyMigrations(
  databaseUrl: string,
  logger: Logger,
  directory = MIGRATIONS_DIR,
): Promise<string[]> {
  const migrations = await readMigrations(directory);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedMigration>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    );
    const applied = new Map(
      rows.filter((row) => !row.rolled_back_at).map((row) => [row.migration_name, row]),
    );
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      const record = applied.get(migration.name);
      if (record && !record.finished_at) {
        throw new MigrationError(
          `Migration ${migration.name} failed earlier and was not resolved; fix the database, then mark it rolled back`,
        );
      }
      if (record) {
        if (record.checksum !== migration.checksum) {
          logger.warn({ migration: migration.name }, 'applied migration was edited since');
        }
        continue;
      }
      await applyOne(client, migration);
      logger.info({ migration: migration.name }, 'migration applied');
      appliedNow.push(migration.name);
    }
    await ensureAgendaSchema(client);
    return appliedNow;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]).catch(() => {});
    await client.end();
  }
}

async function applyOne(client: pg.Client, migration: Migration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, migration.checksum, migration.name],
    );
    await client.query(migration.sql);
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new MigrationError(`Migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

/** Agenda owns its table's shape; creating it here, under the lock, avoids racing instances. */
async function ensureAgendaSchema(client: pg.Client): Promise<void> {
  await client.query(getCreateTableSQL(AGENDA_TABLE));
  for (const statement of getCreateIndexesSQL(AGENDA_TABLE)) await client.query(statement);
}
