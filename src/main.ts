import type { DevelopmentHeaders } from './api/graphiql.js';
import { buildApp } from './app.js';
import { mintUserToken } from './auth/user-tokens.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { applyMigrations } from './db/migrate.js';
import { withDevSecrets } from './dev-secrets.js';
import { createLogger, type Logger } from './logger.js';

// Process entry: config -> database (embedded or DATABASE_URL) -> migrations -> app.

async function main() {
  let config: Config;
  try {
    config = await withDevSecrets(loadConfig());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.LOG_LEVEL);

  let embedded: EmbeddedDatabase | undefined;
  if (!config.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_POSTGRES_PORT, logger);
  }
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;
  await applyMigrations(databaseUrl, logger);

  const devHeaders =
    config.NODE_ENV === 'production' ? undefined : await developmentHeaders(config);
  const app = buildApp({
    config,
    logger,
    databaseUrl,
    // Filled into GraphiQL's tabs only in development: a test or staging page must not carry them.
    developmentHeaders: config.NODE_ENV === 'development' ? devHeaders : undefined,
  });
  const url = await app.start();
  logger.info({ url }, 'listening');
  if (devHeaders) {
    // The log line first: pino writes asynchronously, the welcome goes straight to stdout.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    printDevWelcome(devHeaders, url);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const forceExit = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    forceExit.unref();
    try {
      await app.stop();
      await embedded?.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'stopping failed');
      process.exit(1);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}

/** A token for the admin user dev-user and the first service key, where there are such. */
async function developmentHeaders(config: Config): Promise<DevelopmentHeaders> {
  return {
    ...(config.JWT_SECRET && {
      authorization: `Bearer ${await mintUserToken(config.JWT_SECRET, 'dev-user', { admin: true, ttl: '7d' })}`,
    }),
    ...(config.SERVICE_API_KEYS[0] && { 'x-api-key': config.SERVICE_API_KEYS[0] }),
  };
}

function printDevWelcome(headers: DevelopmentHeaders, url: string) {
  const lines = [`GraphiQL: ${url}`];
  if (headers.authorization) {
    lines.push(
      `Development user token (user "dev-user", admin, 7 days); in GraphiQL's headers and in connectionParams:`,
      `  {"authorization": "${headers.authorization}"}`,
    );
  }
  if (headers['x-api-key']) {
    lines.push(
      `Development service API key, as a header:`,
      `  {"x-api-key": "${headers['x-api-key']}"}`,
    );
  }
  // Printed plainly rather than logged: these are for the person at the terminal, never for logs.
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

main().catch((error: unknown) => {
  const logger: Logger = createLogger('error');
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
