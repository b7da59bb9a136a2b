import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Cluster } from 'ioredis';
import type { RedisTarget } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { EventBus } from '../notifications/event-bus.js';
import { activeTraceparent, continueTrace } from '../observability/spans.js';
import { StreamRouter } from './bus.js';
import { CarriedNotifications } from './carried-notifications.js';
import { decodeMessage, encodeEvents, encodeSignal, type BusMessage } from './codec.js';
import { createRetryingPublisher } from './publish-retry.js';
import { createRedisClient, type RedisClient } from './redis-client.js';
import { checkStreamHeads } from './stream-heads.js';
import type { StreamEvent } from '../notifications/types.js';

/**
 * On one Redis, all instances publish to and subscribe to one channel, `<prefix>events`; each
 * routes what arrives to its own sockets by stream. So an instance holds one Redis subscription
 * however many sockets it serves, and a publish is a few PUBLISHes of bounded size (see
 * codec.ts) however many streams it touches. The prefix lets several deployments share one Redis.
 *
 * On a Redis Cluster, streams are spread by a hash of their name over `shards` sharded channels,
 * `<prefix>events:{<n>}`, whose slots spread them over the cluster's masters: SPUBLISH goes to
 * the one master that owns the channel, so pub/sub traffic and CPU split across masters. Every
 * instance SSUBSCRIBEs to every shard (it serves users of every stream), through one connection
 * per master. A stream's events stay in order: a stream always uses the same channel.
 *
 * Nothing is lost for good on the way: a failed publish is retried, a subscriber connection
 * that comes back makes subscribers catch up from the log, and stream heads are checked against
 * the log every few seconds, which finds whatever else went missing.
 */
export interface RedisBusOptions {
  target: RedisTarget;
  /** Sharded channels on a cluster (ignored on one Redis, which has one channel). */
  shards: number;
  channelPrefix: string;
  instanceId: string;
  logger: Logger;
  /** Where messages that name a notification by id find it, and where stream heads are read. */
  database: Database;
  /** Told how many bytes of received messages wait to be handled, and of each one dropped. */
  observer?: BacklogObserver;
}

export interface BacklogObserver {
  backlog(bytes: number): void;
  dropped(): void;
}

/**
 * What received messages may hold in memory while they wait to be handled (a message that names
 * notifications by id costs a database read). Past it, messages are dropped: the events they
 * carried are in the log, and subscribers get them from there within seconds (the stream-head
 * check, or the gap the next live event shows). A dropped preference signal is not in the log:
 * the counts it would have recounted wait for the user's next recount.
 */
export const MAX_BUS_BACKLOG_BYTES = 4 * 1024 * 1024;

export function createRedisBus({
  target,
  shards,
  channelPrefix,
  instanceId,
  logger,
  database,
  observer,
}: RedisBusOptions): EventBus {
  const cluster = 'clusterNodes' in target;
  const channels = cluster
    ? Array.from({ length: shards }, (_, shard) => `${channelPrefix}events:{${shard}}`)
    : [`${channelPrefix}events`];
  const channelOf = (stream: string) => channels[shardOf(stream, channels.length)]!;
  const connection = (role: 'publisher' | 'subscriber') => {
    const redis = createRedisClient(target, {
      // A send must not wait for Redis: while it is away, publishing fails at once (the event
      // is already in the log) instead of queueing.
      enableOfflineQueue: role === 'subscriber',
      maxRetriesPerRequest: role === 'subscriber' ? null : 1,
      connectionName: `notifications-${role}-${instanceId}`,
      shardedSubscriber: role === 'subscriber',
      // On one Redis the transport subscribes again itself (see channelTransport); a cluster's
      // sharded subscribers do it in ioredis, with their errors handled.
      autoResubscribe: cluster,
    });
    redis.on('error', (error) => logger.debug({ err: error, role }, 'redis error'));
    return redis;
  };
  const publisher = connection('publisher');
  const subscriber = connection('subscriber');
  const router = new StreamRouter();
  const transport = cluster
    ? shardedTransport(publisher as Cluster, subscriber as Cluster)
    : channelTransport(publisher, subscriber);

  // One retrying outbox per channel: a channel's messages keep their order.
  const outboxes = new Map(
    channels.map((channel) => [
      channel,
      createRetryingPublisher((message) => transport.publish(channel, message), logger),
    ]),
  );
  publisher.on('ready', () => outboxes.forEach((outbox) => outbox.retryNow()));
  /** Publishes each channel's share of `events`, in order, in bounded messages. */
  const publishEvents = (events: StreamEvent[], trace: string | undefined) =>
    Promise.all(
      [...groupBy(events, (event) => channelOf(event.stream))].map(([channel, share]) =>
        outboxes.get(channel)!.publish(encodeEvents(instanceId, share, trace)),
      ),
    );
  const heads = checkStreamHeads({
    database,
    streams: () => router.watchedStreams(),
    onHeads: (found) => router.heads(found),
    logger,
  });

  // Messages are handled one after another, in the order they arrived, even when one has to
  // read a notification from the database; what waits is bounded (MAX_BUS_BACKLOG_BYTES).
  const carried = new CarriedNotifications(database);
  let received = Promise.resolve();
  let backlogBytes = 0;
  let dropping = false;
  const receive = async (message: BusMessage) => {
    if ('signal' in message) return router.signal(message.signal);
    // Subscribers take the events in this span's context, so their deliveries join the send's trace.
    const attributes = {
      'messaging.system': 'redis',
      'messaging.destination.name': channelOf(message.events[0]?.stream ?? ''),
      'notification.events': message.events.length,
    };
    await continueTrace('notification.bus.receive', message.trace, attributes, async () => {
      for (const event of await carried.events(message)) router.dispatch(event);
    });
  };
  const handle = async (text: string) => {
    const message = decodeMessage(text);
    // This instance's own messages were delivered locally when published.
    if (message.origin !== instanceId) await receive(message);
  };
  const onMessage = (text: string) => {
    if (backlogBytes + text.length > MAX_BUS_BACKLOG_BYTES) {
      if (!dropping)
        logger.warn(
          'bus messages arrive faster than handled: dropping; subscribers find their events in the log',
        );
      dropping = true;
      observer?.dropped();
      return;
    }
    backlogBytes += text.length;
    observer?.backlog(backlogBytes);
    received = received
      .then(() => handle(text))
      .catch((error) =>
        logger.warn({ err: error }, 'bus message dropped; subscribers find it in the log'),
      )
      .finally(() => {
        backlogBytes -= text.length;
        observer?.backlog(backlogBytes);
        if (backlogBytes === 0) dropping = false;
      });
  };

  let wasReady = true;
  let closing = false;
  subscriber.on('close', () => {
    // Our own disconnect is no loss; on a cluster it is reported after the process's log closed.
    if (wasReady && !closing) logger.warn('redis connection lost; reconnecting');
    wasReady = false;
  });
  subscriber.on('ready', () => {
    if (wasReady) return;
    wasReady = true;
    logger.info('redis connection back; subscribers catch up from the log');
    // Anything published elsewhere while we were away is only in the log now; read once the
    // subscription is back, so whatever is published after the read arrives live.
    transport.resubscribe().then(
      () => router.resync(),
      (error: unknown) => {
        // The connection went again (the next 'ready' tries again), or we are closing.
        if (!closing) logger.warn({ err: error }, 'redis resubscribe failed');
      },
    );
  });

  return {
    async start() {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await transport.subscribe(channels, onMessage);
      heads.start();
    },
    async publish(events) {
      events.forEach((event) => router.dispatch(event));
      await publishEvents(events, activeTraceparent());
    },
    async signal(stream) {
      router.signal(stream);
      await outboxes.get(channelOf(stream))!.publish([encodeSignal(instanceId, stream)]);
    },
    onSignal: (stream, listener) => router.onSignal(stream, listener),
    subscribe: (stream, listener) => router.subscribe(stream, listener),
    onResync: (listener) => router.onResync(listener),
    onHead: (stream, listener) => router.onHead(stream, listener),
    async ping() {
      // Both connections matter: one sends this instance's events, the other receives the rest.
      if (subscriber.status !== 'ready') {
        throw new Error(`subscriber connection ${subscriber.status}`);
      }
      await publisher.ping();
    },
    async close() {
      closing = true;
      heads.stop();
      outboxes.forEach((outbox) => outbox.close());
      // Not QUIT: with Redis away it would wait for a reconnection that may never come.
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

interface Transport {
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channels: string[], onMessage: (message: string) => void): Promise<void>;
  /** Takes up the subscriptions again on a connection that came back. */
  resubscribe(): Promise<void>;
}

/** One Redis: PUBLISH and SUBSCRIBE through graphql-redis-subscriptions. */
function channelTransport(publisher: RedisClient, subscriber: RedisClient): Transport {
  const pubsub = new RedisPubSub({
    publisher,
    subscriber,
    serializer: (payload: string) => payload,
    deserializer: (payload) => payload.toString(),
  });
  let subscribed: string[] = [];
  return {
    publish: (channel, message) => pubsub.publish(channel, message),
    async subscribe(channels, onMessage) {
      for (const channel of channels) await pubsub.subscribe<string>(channel, onMessage);
      subscribed = channels;
    },
    // Not ioredis's autoResubscribe: its SUBSCRIBE is nobody's promise, and one the connection
    // drops before Redis answers (an instance stopping as Redis comes back) is an unhandled
    // rejection that ends the process. This one's caller handles it. pubsub still routes the
    // messages: it listens to the connection, not to one SUBSCRIBE.
    resubscribe: async () => void (await subscriber.subscribe(...subscribed)),
  };
}

/**
 * A Redis Cluster: SPUBLISH and SSUBSCRIBE (Redis 7), which graphql-redis-subscriptions does not
 * speak; ioredis's cluster client sends each to the master that owns the channel's slot and
 * follows it there after a failover.
 */
function shardedTransport(publisher: Cluster, subscriber: Cluster): Transport {
  return {
    publish: (channel, message) => publisher.spublish(channel, message),
    async subscribe(channels, onMessage) {
      subscriber.on('smessage', (_channel: string, message: string) => onMessage(message));
      // One SSUBSCRIBE per channel: the channels of one call must share a slot.
      for (const channel of channels) await subscriber.ssubscribe(channel);
    },
    // The cluster client's sharded subscribers subscribe again by themselves.
    resubscribe: async () => {},
  };
}

/** Which of `count` shards a stream's events go to: the same one always (FNV-1a). */
export function shardOf(stream: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    hash = Math.imul(hash ^ stream.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) % count;
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
