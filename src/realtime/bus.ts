import type { EventBus, HeadListener, StreamListener } from '../notifications/event-bus.js';
import type { StreamEvent } from '../notifications/types.js';

/** Routes events to this process's listeners by stream: one map lookup per event. */
export class StreamRouter {
  private readonly listeners = new Map<string, Set<StreamListener>>();
  private readonly signalListeners = new Map<string, Set<() => void>>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly headListeners = new Map<string, Set<HeadListener>>();
  /** For each stream with head listeners, the newest seq this router has handed on. */
  private readonly newest = new Map<string, bigint>();

  dispatch(event: StreamEvent) {
    const listeners = this.listeners.get(event.stream);
    if (listeners) for (const listener of listeners) listener(event);
    if (this.headListeners.has(event.stream) && event.seq > this.newestOf(event.stream)) {
      this.newest.set(event.stream, event.seq);
    }
  }

  subscribe(stream: string, listener: StreamListener): () => void {
    return addTo(this.listeners, stream, listener);
  }

  signal(stream: string) {
    for (const listener of this.signalListeners.get(stream) ?? []) listener();
  }

  onSignal(stream: string, listener: () => void): () => void {
    return addTo(this.signalListeners, stream, listener);
  }

  resync() {
    for (const listener of this.resyncListeners) listener();
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** The streams whose heads are worth checking: those with listeners here. */
  watchedStreams(): string[] {
    return [...this.headListeners.keys()];
  }

  /** Tells the listeners of each stream whose head is past what this router handed on. */
  heads(heads: Map<string, bigint>) {
    for (const [stream, seq] of heads) {
      const listeners = this.headListeners.get(stream);
      if (!listeners || seq <= this.newestOf(stream)) continue;
      this.newest.set(stream, seq);
      for (const listener of listeners) listener(seq);
    }
  }

  onHead(stream: string, listener: HeadListener): () => void {
    const remove = addTo(this.headListeners, stream, listener);
    return () => {
      remove();
      if (!this.headListeners.has(stream)) this.newest.delete(stream);
    };
  }

  private newestOf(stream: string) {
    return this.newest.get(stream) ?? -1n;
  }
}

function addTo<T>(map: Map<string, Set<T>>, key: string, item: T): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(item);
  return () => {
    set.delete(item);
    if (set.size === 0) map.delete(key);
  };
}

/** The single-instance bus: events go straight from the sender to local subscribers. */
export function createLocalBus(): EventBus {
  const router = new StreamRouter();
  return {
    start: async () => {},
    publish: async (events) => events.forEach((event) => router.dispatch(event)),
    subscribe: (stream, listener) => router.subscribe(stream, listener),
    signal: async (stream) => router.signal(stream),
    onSignal: (stream, listener) => router.onSignal(stream, listener),
    onResync: (listener) => router.onResync(listener),
    // In one process nothing is lost on the way: a head is never ahead of what was handed on.
    onHead: () => () => {},
    close: async () => {},
  };
}
