import type { Logger } from './logger.js';

/**
 * Runs shutdown steps one after another, each logged with its duration at debug. A step still
 * running at `deadline` (epoch ms) is left behind with a warning naming it, so the steps after it
 * still run; `finish` then throws, as the shutdown was not clean.
 */
export function shutdownSteps(logger: Logger, deadline: number) {
  const abandoned: string[] = [];
  const step = async (name: string, work: () => unknown) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(() => resolve('timed out'), Math.max(0, deadline - started));
    });
    try {
      const outcome = await Promise.race([work(), timedOut]);
      const ms = Date.now() - started;
      if (outcome === 'timed out') {
        abandoned.push(name);
        logger.warn({ step: name, ms }, 'shutdown step timed out');
      } else {
        logger.debug({ step: name, ms }, 'shutdown step done');
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const finish = () => {
    if (abandoned.length > 0) throw new Error(`shutdown steps timed out: ${abandoned.join(', ')}`);
  };
  return { step, finish };
}
