/**
 * `work`'s outcome, or `late` once `ms` have passed without one; the timer is cleared either way.
 * A rejection of `work` after that is let go: whoever stopped waiting for it has moved on.
 */
export function within<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<L>((resolve) => (timer = setTimeout(resolve, ms, late)));
  work.catch(() => undefined);
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}
