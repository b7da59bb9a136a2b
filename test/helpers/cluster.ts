import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { CategoryInput } from '../../client/graphql.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { upsertCategory } from './operations.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Cluster {
  instances: TestServer[];
  database: TestDatabase;
  /** The Redis channel prefix private to this cluster, so test files do not hear each other. */
  channelPrefix: string;
  stop(): Promise<void>;
}

export type ClusterOptions = TestServerOptions & { redisUrl?: string };

/** Several real instances on one PostgreSQL database and one Redis, as behind a load balancer. */
export async function startCluster(size: number, options: ClusterOptions = {}): Promise<Cluster> {
  const database = await createTestDatabase();
  const channelPrefix = `test-${randomBytes(4).toString('hex')}:`;
  const instances: TestServer[] = [];
  for (let i = 0; i < size; i++) {
    instances.push(
      await startTestServer({
        ...options,
        database,
        env: {
          REDIS_URL: options.redisUrl ?? TEST_REDIS_URL,
          REDIS_CHANNEL_PREFIX: channelPrefix,
          ...options.env,
        },
      }),
    );
  }
  return {
    instances,
    database,
    channelPrefix,
    async stop() {
      await Promise.all(instances.map((instance) => instance.stop()));
      await database.drop();
    },
  };
}

/** Two instances of a cluster, `a` and `b`, for tests that cross from one to the other. */
export interface Pair extends Cluster {
  a: TestServer;
  b: TestServer;
}

export type PairOptions = ClusterOptions & { categories?: CategoryInput[] };

/**
 * A pair for the tests of the file or `describe` it is called in: started before them, with
 * `categories` created through `a`, and stopped after them. Its fields are there once the
 * tests run (not while they are collected). Options that depend on what an earlier `beforeAll`
 * started (a Redis of the test's own) are given as a function, called when the pair starts.
 */
export function pairForTests(
  options: PairOptions | (() => PairOptions) = {},
  setUpTimeoutMs?: number,
): Pair {
  const pair = {} as Pair;
  let started: Cluster | undefined; // none when an earlier set-up step failed
  beforeAll(async () => {
    const { categories = [], ...clusterOptions } =
      typeof options === 'function' ? options() : options;
    started = await startCluster(2, clusterOptions);
    const [a, b] = started.instances as [TestServer, TestServer];
    Object.assign(pair, started, { a, b });
    for (const category of categories) await upsertCategory(a, category);
  }, setUpTimeoutMs);
  afterAll(() => started?.stop());
  return pair;
}
