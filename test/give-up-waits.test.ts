import { describe, expect, it } from 'vitest';
import { shutdownSteps } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { readiness } from '../src/observability/readiness.js';

// The waits that give up on something that never answers, so the one stuck part does not hold
// everything else: a shutdown step past the deadline, a dependency's readiness check.

const never = () => new Promise<void>(() => {});

describe('shutdown steps', () => {
  it('leave a step still running at the deadline behind, run the next ones, and say which', async () => {
    const logged: { msg: string; step?: string }[] = [];
    const logger = createLogger('debug', {
      write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }),
    });
    const { step, finish } = shutdownSteps(logger, Date.now() + 300);
    const ran: string[] = [];
    await step('stuck', never);
    await step('after it', () => void ran.push('after it'));
    expect(ran).toEqual(['after it']);
    expect(logged.filter((line) => line.msg === 'shutdown step timed out')).toMatchObject([
      { step: 'stuck' },
    ]);
    expect(finish).toThrow('shutdown steps timed out: stuck');
  });

  it('pass on a step that fails', async () => {
    const { step, finish } = shutdownSteps(createLogger('silent'), Date.now() + 1000);
    await expect(step('failing', () => Promise.reject(new Error('broken')))).rejects.toThrow(
      'broken',
    );
    expect(finish).not.toThrow();
  });
});

describe('readiness', () => {
  it('counts a dependency that does not answer within 2 s as failed, and the others as they are', async () => {
    const started = Date.now();
    const result = await readiness({
      database: { check: async () => {}, optional: false },
      redis: { check: never, optional: true },
    });
    expect(result).toEqual({
      status: 'degraded',
      checks: { database: 'ok', redis: 'failed: no answer in 2000 ms' },
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
