import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { RedisCluster } from './helpers/redis-cluster.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';

// An instance on a Redis Cluster, stopped as a process manager stops it: its own disconnect from
// the cluster is not a lost connection, and nothing it logs after its log is closed may crash it.

let redis: RedisCluster;
let database: TestDatabase;
let service: ServiceProcess;

beforeAll(async () => {
  redis = await RedisCluster.start(3);
  database = await createTestDatabase();
  service = await startServiceProcess({
    DATABASE_URL: database.url,
    REDIS_CLUSTER_NODES: redis.seeds,
  });
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await database?.drop();
  await redis?.stop();
});

describe('an instance on a Redis Cluster', () => {
  it('stops cleanly on SIGTERM, without reporting its own disconnect as lost', async () => {
    service.child.signal('SIGTERM');
    const exit = await service.child.waitForExit(15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    const messages = service.child.logLines().map((line) => line.msg);
    expect(messages).toContain('stopped');
    expect(messages).not.toContain('redis connection lost; reconnecting');
  });
});
