/**
 * Rows read often and changed rarely (categories, templates, API keys), kept in the process so a
 * send does not wait on a lookup. An entry lives `ttlMs` at most, and `clear()` (on a change,
 * here or told by another instance) drops them all. A read that began before a clear does not
 * put its possibly stale row back afterwards. Callers asking for a key being read share that
 * read, so a burst of sends on a cold or expired entry reads it once. At most `maxEntries` are
 * kept (the oldest go), so names that callers make up cannot grow it.
 */
export interface ReadCache<V> {
  get(key: string): Promise<V>;
  clear(): void;
}

export function createReadCache<V>(options: {
  read: (key: string) => Promise<V>;
  ttlMs: number;
  maxEntries: number;
}): ReadCache<V> {
  const entries = new Map<string, { value: V; until: number }>();
  const reading = new Map<string, Promise<V>>();
  let generation = 0;

  const read = async (key: string) => {
    const readIn = generation;
    try {
      const value = await options.read(key);
      if (readIn === generation) {
        entries.delete(key);
        entries.set(key, { value, until: performance.now() + options.ttlMs });
        if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
      }
      return value;
    } finally {
      if (readIn === generation) reading.delete(key);
    }
  };

  return {
    get(key) {
      const entry = entries.get(key);
      if (entry && entry.until > performance.now()) return Promise.resolve(entry.value);
      let pending = reading.get(key);
      if (!pending) reading.set(key, (pending = read(key)));
      return pending;
    },
    clear() {
      generation++;
      entries.clear();
      // Reads begun before the change may return the old row: later callers read again.
      reading.clear();
    },
  };
}
