import { inspect } from 'node:util';

/**
 * Reads until `accept` holds and returns that value. When the time is up it throws, saying what
 * it waited for (`what`, or the source of `accept`) and the last value read: a wait that gives
 * up silently lets the assertion after it pass or fail for the wrong reason.
 */
export async function until<T>(
  read: () => Promise<T> | T,
  accept: (value: T) => boolean,
  timeoutMs = 5000,
  what = String(accept),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `waited ${timeoutMs} ms for ${what}; last value: ${inspect(value, { depth: 3, maxStringLength: 500 })}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
