// A typed listener list per event name; a listener that throws does not stop the others. Each
// listener is given the value and its origin (where it came from: the emitter's to say).

export class Emitter<Events extends object, Origin> {
  private readonly listeners = new Map<keyof Events, Set<(value: never, origin: Origin) => void>>();

  on<K extends keyof Events>(
    name: K,
    listener: (value: Events[K], origin: Origin) => void,
  ): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof Events>(name: K, value: Events[K], origin: Origin): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (value: Events[K], origin: Origin) => void)(value, origin);
      } catch (error) {
        reportLater(error);
      }
    }
  }
}

/** Rethrown outside the store's own work, so the app still sees its error. */
export function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}
