import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { startCluster, type Cluster } from './cluster.js';
import { upsertCategory } from './operations.js';
import { RedisProcess } from './redis-process.js';
import type { TestServer, TestServerOptions } from './server.js';
import {
  asUser,
  postGraphQL,
  startServiceProcess,
  type ServiceProcess,
} from './service-process.js';

// The set-up the fault tests share: instances whose dependency the test may stop, cut or fill
// (a Redis of the test's own), each with the category 'info' to send in.

export interface PairOnOwnRedis {
  redis: RedisProcess;
  cluster: Cluster;
  a: TestServer;
  b: TestServer;
  /** Disconnects the tap, stops both instances, then their Redis. */
  stop(): Promise<void>;
}

/**
 * Two in-process instances on a Redis started for the test. With `onPublish`, a raw subscriber
 * on the instances' channel sees every PUBLISH payload as it was sent; it does not reconnect, so
 * a dropped tap shows as missing messages rather than being hidden.
 */
export async function startPairOnOwnRedis(
  options: Pick<TestServerOptions, 'env' | 'onLog'> & {
    onPublish?: (message: Buffer) => void;
  } = {},
): Promise<PairOnOwnRedis> {
  const { onPublish, ...serverOptions } = options;
  const redis = await RedisProcess.start();
  let cluster: Cluster | undefined;
  let tap: Redis | undefined;
  try {
    cluster = await startCluster(2, { ...serverOptions, redisUrl: redis.url });
    await upsertCategory(cluster.instances[0]!, { name: 'info' });
    if (onPublish) {
      tap = new Redis(redis.url, { retryStrategy: () => null });
      tap.on('error', () => {});
      tap.on('messageBuffer', (_channel: Buffer, message: Buffer) => onPublish(message));
      await tap.subscribe(`${cluster.channelPrefix}events`);
    }
  } catch (error) {
    // Nothing is left running for a set-up that failed half way.
    tap?.disconnect();
    await cluster?.stop();
    await redis.stop();
    throw error;
  }
  const [a, b] = cluster.instances as [TestServer, TestServer];
  return {
    redis,
    cluster,
    a,
    b,
    async stop() {
      tap?.disconnect();
      await cluster.stop();
      await redis.stop();
    },
  };
}

/**
 * Service processes (real `tsx src/main.ts`, which an uncaught error would end) started one after
 * another with `env`, and the category 'info' created through the first.
 */
export async function startServiceProcesses(
  count: number,
  env: Record<string, string>,
): Promise<ServiceProcess[]> {
  const processes: ServiceProcess[] = [];
  try {
    for (let i = 0; i < count; i++) processes.push(await startServiceProcess(env));
    const category = await postGraphQL(
      processes[0]!.url,
      'mutation { upsertCategory(input: { name: "info" }) { name } }',
      {},
      await asUser('admin', { admin: true }),
    );
    expect(category.errors).toBeUndefined();
  } catch (error) {
    await Promise.all(processes.map((process) => process.stop()));
    throw error;
  }
  return processes;
}
