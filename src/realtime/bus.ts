import type { StreamEvent } from '../notifications/types.js';

export type StreamListener = (event: StreamEvent) => void;

/** Carries committed events to the subscribers of their stream. */
export interface EventBus {
  publish(events: StreamEvent[]): Promise<void>;
  /** Calls `listener` for each event of `stream` published from now on; returns unsubscribe. */
  subscribe(stream: string, listener: StreamListener): () => void;
  close(): Promise<void>;
}

/** Routes events to this process's listeners by stream: one map lookup per event. */
export class StreamRouter {
  private readonly listeners = new Map<string, Set<StreamListener>>();

  dispatch(event: StreamEvent) {
    const listeners = this.listeners.get(event.stream);
    if (listeners) for (const listener of listeners) listener(event);
  }

  subscribe(stream: string, listener: StreamListener): () => void {
    let set = this.listeners.get(stream);
    if (!set) this.listeners.set(stream, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(stream);
    };
  }
}

/** The single-instance bus: events go straight from the sender to local subscribers. */
export function createLocalBus(): EventBus {
  const router = new StreamRouter();
  return {
    publish: async (events) => events.forEach((event) => router.dispatch(event)),
    subscribe: (stream, listener) => router.subscribe(stream, listener),
    close: async () => {},
  };
}
