import { describe, expect, it } from 'vitest';
import { createReadCache } from '../src/db/read-cache.js';

// The per-process cache of rows every send reads (categories, templates): a burst of sends on a
// cold or expired entry must read it once, and a change must never be hidden by a read that
// began before it.

/** A store of rows whose reads are counted and finish only when released. */
function slowStore(initial: Record<string, string>) {
  const rows = { ...initial };
  const pending: (() => void)[] = [];
  let reads = 0;
  return {
    rows,
    get reads() {
      return reads;
    },
    read: async (key: string) => {
      reads++;
      const value = rows[key] ?? 'missing';
      await new Promise<void>((resolve) => pending.push(resolve));
      return value;
    },
    /** Lets every read begun so far finish. */
    release: async () => {
      for (const finish of pending.splice(0)) finish();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const options = { ttlMs: 60_000, maxEntries: 100 };

describe('read cache', () => {
  it('a burst of gets on a cold entry reads it once and answers all of them', async () => {
    const store = slowStore({ info: 'v1' });
    const cache = createReadCache({ ...options, read: store.read });
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.get('info')));
    await store.release();
    expect(await answers).toEqual(Array(50).fill('v1'));
    expect(store.reads).toBe(1);
    expect(await cache.get('info')).toBe('v1');
    expect(store.reads).toBe(1);
  });

  it('an expired entry is read again once, however many ask', async () => {
    const store = slowStore({ info: 'v1' });
    const cache = createReadCache({ ...options, ttlMs: 1, read: store.read });
    const first = cache.get('info');
    await store.release();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 5));
    store.rows.info = 'v2';
    const answers = Promise.all(Array.from({ length: 20 }, () => cache.get('info')));
    await store.release();
    expect(await answers).toEqual(Array(20).fill('v2'));
    expect(store.reads).toBe(2);
  });

  it('a get after a clear does not share a read begun before it, nor see its row afterwards', async () => {
    const store = slowStore({ info: 'v1' });
    const cache = createReadCache({ ...options, read: store.read });
    const before = cache.get('info');
    store.rows.info = 'v2';
    cache.clear();
    const after = cache.get('info');
    await store.release();
    expect(await before).toBe('v1');
    expect(await after).toBe('v2');
    expect(await cache.get('info')).toBe('v2');
  });

  it('a failed read is neither kept nor shared with later gets', async () => {
    let fail = true;
    let reads = 0;
    const cache = createReadCache({
      ...options,
      read: async (key: string) => {
        reads++;
        if (fail) throw new Error('database away');
        return key;
      },
    });
    await expect(cache.get('info')).rejects.toThrow('database away');
    fail = false;
    expect(await cache.get('info')).toBe('info');
    expect(reads).toBe(2);
  });
});
