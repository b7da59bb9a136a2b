import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { EventBus } from '../notifications/event-bus.js';
import { activeTraceparent, continueTrace } from '../observability/spans.js';
import { StreamRouter } from './bus.js';
import { CarriedNotifications } from './carried-notifications.js';
import { decodeMessage, encodeEvents, encodeSignal, type BusMessage } from './codec.js';
import { createRetryingPublisher } from './publish-retry.js';
import { checkStreamHeads } from './stream-heads.js';

/**
 * All instances publish to and subscribe to one channel, `<prefix>events`; each routes what
 * arrives to its own sockets by stream. So an instance holds one Redis subscription however
 * many sockets it serves, and a publish is a few PUBLISHes of bounded size (see codec.ts)
 * however many streams it touches. The prefix lets several deployments share one Redis.
 *
 * Nothing is lost for good on the way: a failed publish is retried, a subscriber connection
 * that comes back makes subscribers catch up from the log, and stream heads are checked against
 * the log every few seconds, which finds whatever else went missing.
 */
export interface RedisBusOptions {
  url: string;
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
  url,
  channelPrefix,
  instanceId,
  logger,
  database,
  observer,
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

  const outbox = createRetryingPublisher((message) => pubsub.publish(channel, message), logger);
  publisher.on('ready', () => outbox.retryNow());
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
      'messaging.destination.name': channel,
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
      await pubsub.subscribe<string>(channel, onMessage);
      heads.start();
    },
    async publish(events) {
      events.forEach((event) => router.dispatch(event));
      await outbox.publish(encodeEvents(instanceId, events, activeTraceparent()));
    },
    async signal(stream) {
      router.signal(stream);
      await outbox.publish([encodeSignal(instanceId, stream)]);
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
      heads.stop();
      outbox.close();
      // Not QUIT: with Redis away it would wait for a reconnection that may never come.
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
