import type { Database, Pool } from '../db/client.js';
import { pgReader } from '../db/sql-reader.js';
import {
  advance,
  eventsAfter,
  eventsBetween,
  positionIn,
  type Cursor,
  type LoggedEvent,
} from '../notifications/event-log.js';
import { PUBLIC_STREAM, userStream, type StreamEvent } from '../notifications/types.js';
import { deliverable, type InboxFilter } from '../notifications/visibility.js';
import { Repeater } from 'graphql-yoga';
import type { EventBus } from '../notifications/event-bus.js';
import { context, trace } from '@opentelemetry/api';
import { tracer } from '../observability/spans.js';
import { SubscriberView, type Delivery } from './subscriber-view.js';
import { UnseenCounter } from './unseen-counter.js';

// Step 2 of the process, live: what one subscriber receives. It listens first, then replays the
// log after its cursor, then streams; a live event whose seq is not the next in its stream
// means one is missing or late, and the gap is read from the log. No gap, no duplicate.

export type { Delivery } from './subscriber-view.js';

export interface StreamOptions {
  database: Database;
  /** The pool under `database`, where the count is read when the subscriber joins. */
  pool: Pool;
  bus: EventBus;
  userId: string;
  /** Where to resume; null starts from now. */
  after: Cursor | null;
  /**
   * Which events to deliver: all of the user's, or only public ones. Both streams are followed
   * either way, since the user's own events move the cursor and the unseen count.
   */
  deliver: 'all' | 'public';
  /** Only events of notifications of these categories and priorities, and their count. */
  filter?: InboxFilter;
  /** Told of each delivery, as it is handed over (for metrics). */
  onDelivery?: (delivery: Delivery) => void;
  /** Awaited at each step of joining replay and live; see StreamHooks. */
  hooks?: StreamHooks;
}

/** The steps of joining: listening on the bus (replay not read yet), replay done (not live yet). */
export type JoinStage = 'listening' | 'replayed';

/**
 * A seam for tests: awaited at each stage, so a test can send exactly between listening and
 * replay, or between replay and live, instead of hoping a sleep lands there.
 */
export interface StreamHooks {
  onStage?: (stage: JoinStage, userId: string) => Promise<void> | void;
}

const REPLAY_PAGE = 500;

/**
 * Records the span of one delivery as it is handed to the subscriber (its socket or SSE stream),
 * in the trace it arrives in: for a live event, the send's, from whichever instance sent it.
 */
function recordDelivery(delivery: Delivery, userId: string) {
  // Untraced (tracing off): nothing to record, nothing to build.
  if (!trace.getSpanContext(context.active())) return;
  const { notification, stream, seq } = delivery.event;
  const attributes = {
    'notification.id': notification.id,
    'notification.event': delivery.type,
    'notification.stream': stream,
    'notification.seq': seq.toString(),
    'enduser.id': userId,
  };
  tracer.startSpan('notification.deliver', { attributes }).end();
}

/**
 * Whether the log holds events after `cursor` that were committed by `counted` (the position
 * the count stands at, read with it). A client that subscribes with the cursor it just read
 * (every connect) is not: what comes after the count committed after it, so it is published to
 * the listeners already in place, and nothing up to the count can have been pruned past a
 * cursor at or beyond it. Replaying would be two reads of nothing.
 */
const behind = (cursor: Cursor, counted: Cursor) =>
  cursor.public < counted.public || cursor.user < counted.user;

/** The subscriber's deliveries; ending the iteration (client unsubscribes) stops listening. */
export function notificationStream(options: StreamOptions): AsyncIterableIterator<Delivery> {
  const { database, bus, userId } = options;
  const streams = [PUBLIC_STREAM, userStream(userId)];
  const counter = new UnseenCounter(database, userId, options.filter, pgReader(options.pool));
  return new Repeater<Delivery>(async (push, stop) => {
    // The subscriber may leave in the middle of a long replay: stop reading and delivering then.
    let stopped = false;
    void stop.then(() => (stopped = true));
    let cursor: Cursor;
    const view = new SubscriberView(
      counter,
      options.deliver === 'public',
      async (delivery) => {
        recordDelivery(delivery, userId);
        options.onDelivery?.(delivery);
        await push(delivery);
      },
      (task) => run(task),
    );
    const deliver = async (event: LoggedEvent) => {
      if (stopped) return;
      const before = cursor;
      cursor = advance(cursor, event);
      if (deliverable(event)) await view.accept(event, before, cursor);
    };
    const catchUp = async () => {
      while (!stopped) {
        const page = await eventsAfter(database, userId, streams, cursor, REPLAY_PAGE);
        for (const logged of page) await deliver(logged);
        if (page.length < REPLAY_PAGE) return;
      }
    };
    const receive = async (event: StreamEvent) => {
      const position = positionIn(cursor, event.stream);
      if (event.seq <= position) return;
      // A page at a time: a subscriber far behind does not load its whole gap at once.
      for (let from = position; from + 1n < event.seq && !stopped;) {
        const page = await eventsBetween(
          database,
          userId,
          event.stream,
          from,
          event.seq,
          REPLAY_PAGE,
        );
        for (const logged of page) await deliver(logged);
        if (page.length < REPLAY_PAGE) break;
        from = page.at(-1)!.seq;
      }
      await deliver(event);
    };

    // Work runs one task at a time, in arrival order; live events wait until the replay is done.
    let queue: Promise<void> = Promise.resolve();
    let live = false;
    const waiting: (() => Promise<void>)[] = [];
    const run = (task: () => Promise<void>) => {
      if (!live) return void waiting.push(task);
      queue = queue.then(task).catch(stop);
    };
    const unsubscribers = [
      ...streams.map((stream) => bus.subscribe(stream, (event) => run(() => receive(event)))),
      bus.onResync(() => run(catchUp)),
      // A message of this stream was lost on the way: the log has what the bus did not bring.
      ...streams.map((stream) =>
        bus.onHead(stream, (head) =>
          run(async () => (head > positionIn(cursor, stream) ? catchUp() : undefined)),
        ),
      ),
      // The user's preferences changed: read mutes (and the count) again.
      bus.onSignal(userStream(userId), () => run(async () => void (await counter.recount()))),
    ];
    try {
      // Counting first gives the count and the current position from one snapshot.
      const now = await counter.recount();
      cursor = options.after ?? now;
      await options.hooks?.onStage?.('listening', userId);
      if (options.after && behind(options.after, now)) await catchUp();
      await options.hooks?.onStage?.('replayed', userId);
      live = true;
      for (const task of waiting.splice(0)) run(task);
    } catch (error) {
      stop(error);
    }
    await stop;
    view.close();
    for (const unsubscribe of unsubscribers) unsubscribe();
  });
}
