// How long to wait before reconnect attempt `retries` (0 for the first): exponential up to a cap,
// with jitter. No imports, so Node tests can check it too.

const FIRST_MS = 1000;
const MAX_MS = 30_000;

export function backoff(retries: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_MS, FIRST_MS * 2 ** retries);
  // At least half the ceiling, so no attempt comes at once; the rest at random, so the browsers
  // that lost the same server do not all come back in the same instant.
  return ceiling / 2 + (random() * ceiling) / 2;
}
