// A typed listener list per event name; a listener that throws does not stop the others.

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (value: Events[K]) => void)(value);
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
