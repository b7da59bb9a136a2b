import { loadConfig } from '../src/config.js';
import { createDatabase, type Database } from '../src/db/client.js';
import pg from 'pg';
import { embeddedPostgresUrl, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';

/**
 * Runs `work` against the service's database: DATABASE_URL, else the embedded one of a running
 * `npm start`, else the embedded one in DATA_DIR, started for the occasion.
 */
export async function withDatabase<T>(work: (database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const runningUrl = config.DATABASE_URL ?? embeddedPostgresUrl(config.EMBEDDED_POSTGRES_PORT);
  const embedded = (await answers(runningUrl))
    ? undefined
    : await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_POSTGRES_PORT, logger);
  const url = embedded?.url ?? runningUrl;
  await applyMigrations(url, logger);
  const database = createDatabase(url);
  try {
    return await work(database);
  } finally {
    await database.$disconnect();
    await embedded?.stop();
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
