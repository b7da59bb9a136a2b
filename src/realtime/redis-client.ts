import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.js';

// One place that turns where Redis is (config.REDIS) into a client: a connection to one server,
// or a cluster client that finds the node of each key (and of each sharded channel) itself.

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  connectionName: string;
  /** Commands wait for a connection (true) or fail at once while there is none. */
  enableOfflineQueue: boolean;
  maxRetriesPerRequest: number | null;
  commandTimeout?: number;
  /** A cluster client that subscribes to sharded channels (one connection per master). */
  shardedSubscriber?: boolean;
  /** Whether ioredis takes up the connection's subscriptions again by itself on reconnecting. */
  autoResubscribe?: boolean;
}

const retryStrategy = (attempt: number) => Math.min(attempt * 200, 2000);

export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const { shardedSubscriber = false, enableOfflineQueue, ...perConnection } = options;
  const connection: RedisOptions = { ...perConnection, retryStrategy, lazyConnect: true };
  if ('url' in target) return new Redis(target.url, { ...connection, enableOfflineQueue });
  return new Cluster(target.clusterNodes, {
    redisOptions: connection,
    enableOfflineQueue,
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    // A node that restarts with the same slots is connected to again (not only after a MOVED).
    clusterNodeRetryStrategy: retryStrategy,
    shardedSubscribers: shardedSubscriber,
  });
}
