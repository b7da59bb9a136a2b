import type { Pool } from '../db/client.js';
import type { PublishDeps } from '../notifications/publish.js';
import { deliverDue, nextDueInMs } from '../notifications/scheduled.js';
import type { NotificationRecord } from '../notifications/types.js';
import { createPassTimer, type PassTimer } from './pass-timer.js';

// Every instance delivers scheduled sends on its own timer, like the snooze waker: each claim is
// SKIP LOCKED, so instances share the due ones and each is delivered once (scheduled.ts). The
// timer is set to the next one due, so it goes out within moments of its time, and at most
// LOOK_EVERY_MS apart, so one scheduled through another instance is found in time too. The rows
// are in the database: what came due while no instance ran goes out at the next start.

/** Sends one claim delivers at most; a pass claims up to PASSES times, then yields and goes on. */
const PER_PASS = 100;
const PASSES = 10;
/** How long to leave due sends that another instance is delivering before looking again. */
const HELD_ELSEWHERE_MS = 100;
/** The longest the timer waits: a send scheduled elsewhere is delivered within about this. */
const LOOK_EVERY_MS = 500;

export type ScheduledDispatcher = PassTimer;

export interface ScheduledDispatcherDeps extends PublishDeps {
  pool: Pool;
  /** Told of each delivered notification once it is stored (counted as sent then). */
  delivered(notification: NotificationRecord): void;
}

export function createScheduledDispatcher(deps: ScheduledDispatcherDeps): ScheduledDispatcher {
  /**
   * Delivers what is due; answers how long to wait for the next pass. An instance with nothing
   * due asks one index lookup per pass and opens no transaction.
   */
  const pass = async (): Promise<number> => {
    try {
      for (let round = 0; round < PASSES; round++) {
        const wait = await nextDueInMs(deps.pool);
        if (wait === null || wait > 0) return Math.min(wait ?? LOOK_EVERY_MS, LOOK_EVERY_MS);
        const delivered = await deliverDue(deps, PER_PASS);
        for (const notification of delivered) deps.delivered(notification);
        // Due, but none it could claim: another instance (or a cancel) holds them right now.
        if (delivered.length === 0) return HELD_ELSEWHERE_MS;
      }
      return 0;
    } catch (error) {
      deps.logger.warn(
        { err: error },
        'delivering scheduled sends failed; the next pass tries again',
      );
      return LOOK_EVERY_MS;
    }
  };
  // The first pass at once: what came due while no instance ran is late already.
  return createPassTimer(0, pass);
}
