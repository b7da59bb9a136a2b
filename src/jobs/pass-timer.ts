/** A background job that runs bounded passes, one at a time, on its own timer. */
export interface PassTimer {
  start(): void;
  /** Stops the timer and waits for a pass under way; that pass sets no further timer. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` after `firstPassInMs`, then again after however long each pass answers to wait
 * (0: at once, when it left work behind). Passes never overlap: the next timer is set only once
 * the last pass is over. `pass` must not throw: each job logs its own failures its own way.
 */
export function createPassTimer(firstPassInMs: number, pass: () => Promise<number>): PassTimer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = pass().then((waitMs) => {
      if (timer) timer = setTimeout(tick, waitMs);
    });
  };
  return {
    start() {
      timer = setTimeout(tick, firstPassInMs);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
