/**
 * Rows read often and changed rarely (categories, templates, API keys), kept in the process so a
 * send does not wait on a lookup. An entry lives `ttlMs` at most, and `clear()` (on a change,
 * here or told by another instance) drops them all. A read that began before a clear does not
 * put its possibly stale row back afterwards. At most `maxEntries` are kept (the oldest go), so
 * names that callers make up cannot grow it.
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
  let generation = 0;
  return {
    async get(key) {
      const entry = entries.get(key);
      if (entry && entry.until > performance.now()) return entry.value;
      const readIn = generation;
      const value = await options.read(key);
      if (readIn === generation) {
        entries.delete(key);
        entries.set(key, { value, until: performance.now() + options.ttlMs });
        if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
      }
      return value;
    },
    clear() {
      generation++;
      entries.clear();
    },
  };
}
