import type { Logger } from '../logger.js';
import type { Deps } from '../notifications/own-state.js';
import { wakeDueSnoozes } from '../notifications/snooze.js';
import { createPassTimer, type PassTimer } from './pass-timer.js';

// Snoozes end when their time comes, on every instance's own timer: each pass takes the due ones
// from an index, and each ends once however many instances find it (snooze.ts). The state is in
// the database, so a snooze that came due while no instance ran ends at the next start.

/** Snoozes one pass ends at most; a full pass is followed at once by another, up to PASSES. */
const PER_PASS = 100;
const PASSES = 10;
/** How often each instance looks: a snooze ends within about this long of its time. */
const WAKE_EVERY_MS = 1000;

export type SnoozeWaker = PassTimer;

export function createSnoozeWaker(deps: Deps, logger: Logger): SnoozeWaker {
  return createPassTimer(WAKE_EVERY_MS, async () => {
    try {
      for (let pass = 0; pass < PASSES; pass++) {
        if ((await wakeDueSnoozes(deps, PER_PASS)) < PER_PASS) break;
      }
    } catch (error) {
      logger.warn({ err: error }, 'ending due snoozes failed; the next pass tries again');
    }
    return WAKE_EVERY_MS;
  });
}
