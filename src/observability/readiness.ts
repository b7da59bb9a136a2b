import { within } from '../within.js';

// Whether the service can serve: read by /readyz and by the metrics, so both say the same.

export type Check = () => Promise<void>;

/** Something the service depends on, with a check that resolves while it answers. */
export interface Dependency {
  check: Check;
  /**
   * The service still serves without it, degraded: for Redis, sends are stored and subscribers
   * are served from the log, only live events between instances wait for it.
   */
  optional: boolean;
}

type Readiness = 'ok' | 'degraded' | 'unavailable';

/** A dependency that has not answered by then counts as failed. */
const CHECK_TIMEOUT_MS = 2000;

export async function readiness(all: Record<string, Dependency>) {
  const entries = await Promise.all(
    Object.entries(all).map(async ([name, { check, optional }]) => {
      try {
        const answered = await within(
          check().then(() => true),
          CHECK_TIMEOUT_MS,
          false,
        );
        if (!answered) throw new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`);
        return { name, optional, state: 'ok' };
      } catch (error) {
        return { name, optional, state: `failed: ${(error as Error).message}` };
      }
    }),
  );
  const failed = entries.filter(({ state }) => state !== 'ok');
  const status: Readiness =
    failed.length === 0
      ? 'ok'
      : failed.every(({ optional }) => optional)
        ? 'degraded'
        : 'unavailable';
  return { status, checks: Object.fromEntries(entries.map(({ name, state }) => [name, state])) };
}
