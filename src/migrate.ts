import { ConfigError, loadMigrationConfig } from './config.js';
import { applyMigrations } from './db/migrate.js';
import { createLogger } from './logger.js';

// Release-step entry (`npm run migrate`, `node dist/migrate.js`): applies pending migrations to
// DATABASE_URL and exits, so a deploy can migrate before new instances start. Instances still
// apply pending ones at start-up; the advisory lock makes the two safe together.

async function migrate(): Promise<number> {
  let config;
  try {
    config = loadMigrationConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const logger = createLogger(config.LOG_LEVEL);
  try {
    const applied = await applyMigrations(config.DATABASE_URL, logger);
    logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'no pending migrations');
    return 0;
  } catch (error) {
    process.stderr.write(
      `Migrations not applied to ${databaseOf(config.DATABASE_URL)}: ${describe(error)}\n`,
    );
    return 1;
  }
}

/** host:port/database, without the credentials a URL may carry. */
function databaseOf(url: string): string {
  const { host, pathname } = new URL(url);
  return `${host}${pathname}`;
}

/** A connection refused on every address of a host comes as an AggregateError with no message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as { code?: unknown };
  return error.message || (typeof code === 'string' ? code : error.name);
}

process.exitCode = await migrate();
