import { Socket } from 'node:net';
import type { DevelopmentHeaders } from './api/graphiql.js';
import type { App } from './app.js';
import { mintUserToken } from './auth/user-tokens.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { withDevSecrets } from './dev-secrets.js';
import { pino } from 'pino';
import { createLogger, type Logger } from './logger.js';
import { startTracing } from './observability/tracing.js';
import { StartFailure, errorCode, isUnreachable, messageOf, whereOf } from './start-failure.js';

// Process entry: config -> tracing (when configured) -> database (embedded or DATABASE_URL) ->
// migrations -> app. What loads pg, ioredis or node:http is imported once tracing has started,
// so that its instrumentations see those imports.

/** How long an exit waits for the log to be written out. */
const LOG_DRAIN_MS = 2000;

async function main() {
  let config: Config;
  try {
    config = await withDevSecrets(loadConfig());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  // The welcome goes through the log's own stream, after the log lines written before it: pino
  // writes asynchronously, so a plain stdout write could overtake them.
  const stdout = pino.destination({ dest: 1, sync: false });
  const logger = createLogger(config.LOG_LEVEL, stdout);
  const tracing = await startTracing(config.OTEL_EXPORTER_OTLP_ENDPOINT);
  const [{ buildApp }, { startEmbeddedPostgres }, { applyMigrations }] = await Promise.all([
    import('./app.js'),
    import('./db/embedded.js'),
    import('./db/migrate.js'),
  ]);

  let embedded: EmbeddedDatabase | undefined;
  if (!config.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_POSTGRES_PORT, logger);
  }
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;
  const devHeaders =
    config.NODE_ENV === 'production' ? undefined : await developmentHeaders(config);
  let app: App;
  let url: string;
  try {
    await applyMigrations(databaseUrl, logger).catch((error: unknown) => {
      throw databaseFailure(error, config, databaseUrl) ?? migrationFailure(error);
    });
    // Built once migrated: its job scheduler connects to the database as soon as it exists.
    app = buildApp({
      config,
      logger,
      databaseUrl,
      // Filled into GraphiQL's tabs only in development: a test or staging page must not carry them.
      developmentHeaders: config.NODE_ENV === 'development' ? devHeaders : undefined,
    });
    url = await app.start().catch(async (error: unknown) => {
      throw (
        portFailure(error, config) ??
        databaseFailure(error, config, databaseUrl) ??
        (await redisFailure(error, config)) ??
        error
      );
    });
  } catch (error) {
    // The embedded PostgreSQL is a process of its own: it must not outlive the failed start
    // (the rest goes with this process's exit).
    await embedded?.stop().catch(() => {});
    throw error;
  }
  logger.info({ url }, 'listening');
  if (devHeaders) stdout.write(devWelcome(devHeaders, url));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const forceExit = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      exitAfterLog(stdout, 1);
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    forceExit.unref();
    try {
      await app.stop();
      await embedded?.stop();
      await tracing?.stop();
      logger.info('stopped');
      exitAfterLog(stdout, 0);
    } catch (error) {
      logger.error({ err: error }, 'stopping failed');
      exitAfterLog(stdout, 1);
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

function devWelcome(headers: DevelopmentHeaders, url: string): string {
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
  return `\n${lines.join('\n')}\n\n`;
}

/** The database cannot be reached or refuses us, as a StartFailure; undefined for other errors. */
function databaseFailure(error: unknown, config: Config, databaseUrl: string) {
  const refused = ['28P01', '28000', '3D000'].includes(errorCode(error) ?? '');
  if (!isUnreachable(error) && !refused) return undefined;
  return new StartFailure(
    `the database at ${whereOf(databaseUrl)} cannot be reached or refused the connection: ${messageOf(error)}`,
    config.DATABASE_URL
      ? 'check DATABASE_URL (host, port, user, password, database) and that PostgreSQL runs there, or unset it to use the embedded PostgreSQL'
      : 'the embedded PostgreSQL stopped answering: start again with LOG_LEVEL=debug to see its output',
    { cause: error },
  );
}

function migrationFailure(error: unknown) {
  return new StartFailure(
    `the database migrations could not be applied: ${messageOf(error)}`,
    'fix what the message says (a migration that fails is rolled back; prisma/migrations holds them), then start again',
    { cause: error },
  );
}

function portFailure(error: unknown, config: Config) {
  if (errorCode(error) !== 'EADDRINUSE') return undefined;
  return new StartFailure(
    `port ${config.PORT} (PORT) is already in use`,
    `stop the process that listens on port ${config.PORT}, or set PORT to a free port`,
    { cause: error },
  );
}

/** ioredis says only "Connection is closed.": when Redis does not answer a TCP connect, say so. */
async function redisFailure(error: unknown, config: Config) {
  if (!config.REDIS) return undefined;
  const nodes =
    'url' in config.REDIS ? [nodeOf(new URL(config.REDIS.url))] : config.REDIS.clusterNodes;
  const reachable = await Promise.all(nodes.map(({ host, port }) => answersTcp(host, port)));
  if (reachable.some(Boolean)) return undefined;
  if ('url' in config.REDIS) {
    return new StartFailure(
      `Redis at ${whereOf(config.REDIS.url)} (REDIS_URL) cannot be reached: ${messageOf(error)}`,
      'start Redis there or fix REDIS_URL; a single instance runs without Redis (unset REDIS_URL)',
      { cause: error },
    );
  }
  return new StartFailure(
    `no node of the Redis Cluster (REDIS_CLUSTER_NODES: ${config.REDIS_CLUSTER_NODES.join(', ')}) can be reached: ${messageOf(error)}`,
    'start the cluster or fix REDIS_CLUSTER_NODES (any reachable nodes of it will do)',
    { cause: error },
  );
}

const nodeOf = ({ hostname, port }: URL) => ({ host: hostname, port: Number(port || 6379) });

function answersTcp(host: string, port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.setTimeout(2000, () => socket.destroy(new Error('timed out')));
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, host);
  });
}

/**
 * Exits once the log's asynchronous stream has written all it holds. Exiting at once leaves it to
 * pino's synchronous flush at exit, which writes the waiting lines beside a write still in
 * flight: the last lines of a shutdown came out of order.
 */
function exitAfterLog(stream: ReturnType<typeof pino.destination>, code: number) {
  const exit = () => process.exit(code);
  stream.once('close', exit);
  setTimeout(exit, LOG_DRAIN_MS);
  stream.end();
}

main().catch((error: unknown) => {
  const logger: Logger = createLogger('error');
  const failure =
    error instanceof StartFailure
      ? error
      : new StartFailure(
          `unexpected error: ${messageOf(error)}`,
          'see the error logged above; if it names a setting, fix that setting and start again',
          { cause: error },
        );
  logger.fatal(
    { err: failure.cause ?? failure, fix: failure.fix },
    `failed to start: ${failure.reason}`,
  );
  // Also plainly, for the person at the terminal: the JSON log is for machines.
  process.stderr.write(`\nCannot start: ${failure.reason}\nWhat to do: ${failure.fix}\n\n`);
  process.exit(1);
});
