import type { Cursor } from '../notifications/event-log.js';
import {
  PUBLIC_STREAM,
  type NotificationEventType,
  type StreamEvent,
} from '../notifications/types.js';
import { heldBack } from '../notifications/visibility.js';
import type { UnseenCounter } from './unseen-counter.js';

/** What one subscriber receives: an event, or a digest of several CREATED events. */
export interface Delivery {
  type: NotificationEventType;
  /** The event; for a DIGEST, the newest it gathers. */
  event: StreamEvent;
  /** [event], or everything a DIGEST gathers, oldest first. */
  events: StreamEvent[];
  /** Resume from here to miss nothing that was not delivered yet. */
  cursor: Cursor;
  unseenCount: number;
}

interface Batch {
  events: StreamEvent[];
  /** The position before the batch's first event: the cursor must not pass it while it waits. */
  floor: Cursor;
}

/**
 * Turns one subscriber's ordered events into deliveries: leaves out muted categories and what the
 * subscriber's filter does not match (they still move the cursor), keeps the unseen count, and gathers notifications of batched categories into
 * one DIGEST per window.
 */
export class SubscriberView {
  private readonly batches = new Map<string, Batch>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private latest: Cursor | undefined;

  constructor(
    private readonly counter: UnseenCounter,
    private readonly publicOnly: boolean,
    private readonly emit: (delivery: Delivery) => Promise<void>,
    /** Runs a task in the subscriber's queue, after whatever is being delivered. */
    private readonly schedule: (task: () => Promise<void>) => void,
  ) {}

  /** Takes the next event; `before` and `after` are the subscriber's positions around it. */
  async accept(event: StreamEvent, before: Cursor, after: Cursor): Promise<void> {
    this.latest = after;
    const unseenCount = await this.counter.after(event);
    if (this.publicOnly && event.stream !== PUBLIC_STREAM) return;
    const { notification } = event;
    if (heldBack(event, this.counter.filter, (category) => this.counter.isMuted(category))) return;
    if (event.type === 'CREATED' && notification.batchWindowSeconds && this.gathers(event)) {
      this.gather(event, before, notification.batchWindowSeconds);
      return;
    }
    // Changed while its digest waits: the digest carries the new content, and is all it needs.
    if (event.type === 'UPDATED' && this.refresh(event)) return;
    if (event.type === 'DELETED') this.drop(event);
    await this.emit({
      type: event.type,
      event,
      events: [event],
      cursor: this.held(after),
      unseenCount,
    });
  }

  /** Stops the digest timers: the subscriber is gone. */
  close() {
    for (const timer of this.timers) clearTimeout(timer);
    this.counter.close();
  }

  /**
   * Whether a CREATED of a batched category waits for its digest: yes, unless it replaces one
   * the subscriber already has (a DIGEST says nothing of what it replaces), so it goes out now
   * with `replaces`. One that replaces one still waiting takes its place in the batch: the
   * subscriber never gets the earlier one.
   */
  private gathers(event: StreamEvent): boolean {
    const replaces = event.fold?.replaces;
    return !replaces || this.takeOut(event.notification.categoryName, replaces);
  }

  /** Takes a notification out of the waiting digest that gathers it; whether one did. */
  private takeOut(category: string, id: string): boolean {
    const batch = this.batches.get(category);
    const index = batch?.events.findIndex((held) => held.notification.id === id) ?? -1;
    if (index < 0) return false;
    batch!.events.splice(index, 1);
    return true;
  }

  private gather(event: StreamEvent, before: Cursor, windowSeconds: number) {
    const category = event.notification.categoryName;
    const batch = this.batches.get(category);
    if (batch) {
      batch.events.push(event);
      return;
    }
    this.batches.set(category, { events: [event], floor: before });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.schedule(() => this.flush(category));
    }, windowSeconds * 1000);
    this.timers.add(timer);
  }

  /** Puts an UPDATED event's content into the waiting digest that gathers it, if one does. */
  private refresh(event: StreamEvent): boolean {
    const batch = this.batches.get(event.notification.categoryName);
    const index = batch?.events.findIndex((held) => held.notification.id === event.notification.id);
    if (!batch || index === undefined || index < 0) return false;
    batch.events[index] = { ...batch.events[index]!, notification: event.notification };
    return true;
  }

  /** A deleted notification leaves the waiting digest that gathers it: it is gone. */
  private drop(event: StreamEvent) {
    const category = event.notification.categoryName;
    this.takeOut(category, event.notification.id);
    if (this.batches.get(category)?.events.length === 0) this.batches.delete(category);
  }

  private async flush(category: string) {
    const batch = this.batches.get(category);
    if (!batch) return;
    this.batches.delete(category);
    const events = batch.events;
    await this.emit({
      type: 'DIGEST',
      event: events.at(-1)!,
      events,
      cursor: this.held(this.latest!),
      unseenCount: this.counter.current,
    });
  }

  /** `cursor`, held back before any batch still waiting, so resuming from it loses nothing. */
  private held(cursor: Cursor): Cursor {
    let held = cursor;
    for (const { floor } of this.batches.values()) {
      held = {
        public: floor.public < held.public ? floor.public : held.public,
        user: floor.user < held.user ? floor.user : held.user,
      };
    }
    return held;
  }
}
