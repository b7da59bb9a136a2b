import { ConfigError, loadMigrationConfig } from './config.js';
import { applyMigrations } from './db/migrate.js';
import { createLogger } from './logger.js';
import { messageOf, whereOf } from './start-failure.js';

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
      `Migrations not applied to the database at ${whereOf(config.DATABASE_URL)}: ${messageOf(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await migrate();
