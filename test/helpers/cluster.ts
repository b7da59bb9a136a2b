import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Cluster {
  instances: TestServer[];
  database: TestDatabase;
  /** The Redis channel prefix private to this cluster, so test files do not hear each other. */
  channelPrefix: string;
  stop(): Promise<void>;
}

/** Several real instances on one PostgreSQL database and one Redis, as behind a load balancer. */
export async function startCluster(
  size: number,
  options: TestServerOptions & { redisUrl?: string } = {},
): Promise<Cluster> {
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
