import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { StreamRouter, type EventBus } from './bus.js';
import { decodeMessage, encodeMessage } from './codec.js';

/**
 * All instances publish to and subscribe to one channel, `<prefix>events`; each routes what
 * arrives to its own sockets by stream. So an instance holds one Redis subscription however
 * many sockets it serves, and a publish is one PUBLISH however many streams it touches. The
 * prefix lets several deployments share one Redis.
 */
export interface RedisBusOptions {
  url: string;
  channelPrefix: string;
  instanceId: string;
  logger: Logger;
}

export function createRedisBus({
  url,
  channelPrefix,
  instanceId,
  logger,
}: RedisBusOptions): EventBus {
  const channel = `${channelPrefix}events`;
  const connection = (role: string) => {
    const redis = new Redis(url, {
      // A send must not wait for Redis: while it is away, publishing fails at once (the event
      // is already in the log) instead of queueing.
      enableOfflineQueue: role === 'subscriber',
      maxRetriesPerRequest: role === 'subscriber' ? null : 1,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      connectionName: `notifications-${role}-${instanceId}`,
      lazyConnect: true,
    });
    redis.on('error', (error) => logger.debug({ err: error, role }, 'redis error'));
    return redis;
  };
  const publisher = connection('publisher');
  const subscriber = connection('subscriber');
  const router = new StreamRouter();
  const pubsub = new RedisPubSub({
    publisher,
    subscriber,
    serializer: (payload: string) => payload,
    deserializer: (payload) => payload.toString(),
  });

  let wasReady = true;
  subscriber.on('close', () => {
    if (wasReady) logger.warn('redis connection lost; reconnecting');
    wasReady = false;
  });
  subscriber.on('ready', () => {
    if (wasReady) return;
    wasReady = true;
    logger.info('redis connection back; subscribers catch up from the log');
    // Anything published elsewhere while we were away is only in the log now.
    router.resync();
  });

  return {
    async start() {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await pubsub.subscribe<string>(channel, (message) => {
        const decoded = decodeMessage(message);
        // This instance's own messages were delivered locally when published.
        if (decoded.origin === instanceId) return;
        if ('signal' in decoded) router.signal(decoded.signal);
        else decoded.events.forEach((event) => router.dispatch(event));
      });
    },
    async publish(events) {
      events.forEach((event) => router.dispatch(event));
      await pubsub.publish(channel, encodeMessage({ origin: instanceId, events }));
    },
    async signal(stream) {
      router.signal(stream);
      await pubsub.publish(channel, encodeMessage({ origin: instanceId, signal: stream }));
    },
    onSignal: (stream, listener) => router.onSignal(stream, listener),
    subscribe: (stream, listener) => router.subscribe(stream, listener),
    onResync: (listener) => router.onResync(listener),
    async ping() {
      await publisher.ping();
    },
    async close() {
      await pubsub.close().catch(() => {});
    },
  };
}
