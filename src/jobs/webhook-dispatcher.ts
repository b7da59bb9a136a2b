import type { Pool } from '../db/client.js';
import type { Logger } from '../logger.js';
import {
  claimDueDeliveries,
  deliver,
  escalateDue,
  pruneFinishedDeliveries,
  type DeliveryOutcome,
  type DeliverySettings,
} from '../notifications/webhook-deliveries.js';
import { createPassTimer, type PassTimer } from './pass-timer.js';

// Every instance runs the webhook outbox on its own timer, like the snooze waker: claims are
// SKIP LOCKED leases, so instances share the work and never send one delivery at the same time.
// Each pass is bounded: so many escalation receipts, so many deliveries (sent in parallel, each
// within WEBHOOK_TIMEOUT_SECONDS), so many pruned rows. A full pass is followed at once by another.

const DELIVERIES_PER_PASS = 50;
const ESCALATION_RECEIPTS_PER_PASS = 1000;
const PRUNE_PER_PASS = 1000;
/** How often each instance looks when the last pass found little to do. */
const POLL_EVERY_MS = 1000;

export interface WebhookDispatcher extends PassTimer {
  /** Stops the timer, releases deliveries in flight for another instance, waits for the pass. */
  stop(): Promise<void>;
}

export function createWebhookDispatcher(
  pool: Pool,
  settings: DeliverySettings,
  logger: Logger,
  /** Told what came of each attempt (the metrics count them). */
  attempted: (outcome: DeliveryOutcome) => void,
): WebhookDispatcher {
  const stopping = new AbortController();

  /** Answers how long to wait for the next pass: none when it left work behind (a full batch). */
  const pass = async (): Promise<number> => {
    try {
      await escalateDue(pool, ESCALATION_RECEIPTS_PER_PASS);
      if (stopping.signal.aborted) return POLL_EVERY_MS; // claim nothing it would release at once
      const claimed = await claimDueDeliveries(pool, settings, DELIVERIES_PER_PASS);
      const results = await Promise.all(
        claimed.map((delivery) =>
          deliver(pool, settings, delivery, stopping.signal).then((result) => {
            attempted(result.outcome);
            const log = { delivery: delivery.id, attempt: delivery.attempts, ...result };
            if (result.outcome === 'failed') logger.warn(log, 'webhook delivery failed for good');
            else logger.debug(log, 'webhook delivery');
          }),
        ),
      );
      await pruneFinishedDeliveries(pool, settings.keepDays, PRUNE_PER_PASS);
      return results.length === DELIVERIES_PER_PASS ? 0 : POLL_EVERY_MS;
    } catch (error) {
      if (!stopping.signal.aborted) {
        logger.warn({ err: error }, 'webhook pass failed; the next pass tries again');
      }
      return POLL_EVERY_MS;
    }
  };
  const timer = createPassTimer(POLL_EVERY_MS, pass);
  return {
    start() {
      timer.start();
    },
    async stop() {
      stopping.abort();
      await timer.stop();
    },
  };
}
