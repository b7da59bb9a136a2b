import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from '../src/connections/keyed-queue.js';

// The per-user queue of connects: one at a time per key, keys side by side, nothing kept after.

/** A task that runs until `finish` is called, noting when it started. */
function gate(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish: () => finish(),
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
  };
}

describe('a keyed queue', () => {
  it('runs one task per key at a time, in order, and other keys alongside', async () => {
    const queue = createKeyedQueue();
    const log: string[] = [];
    const [a1, a2, b1] = [gate(log, 'a1'), gate(log, 'a2'), gate(log, 'b1')];
    const results = [queue.run('a', a1.task), queue.run('a', a2.task), queue.run('b', b1.task)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a1', 'b1']);
    a1.finish();
    await results[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a1', 'b1', 'a2']);
    a2.finish();
    b1.finish();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
  });

  it('runs the next task after one that failed, and hands each caller its own outcome', async () => {
    const queue = createKeyedQueue();
    const failed = queue.run('a', () => Promise.reject(new Error('database away')));
    const next = queue.run('a', () => Promise.resolve('recorded'));
    await expect(failed).rejects.toThrow('database away');
    expect(await next).toBe('recorded');
  });

  it('forgets a key once its tasks are done, so it does not grow with the keys seen', async () => {
    const queue = createKeyedQueue();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        queue.run(`user-${i % 100}`, () => Promise.resolve(i)),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size()).toBe(0);
  });
});
