import type { Logger } from '../logger.js';
import type { EventBus } from './event-bus.js';
import type { StreamEvent } from './types.js';

export interface PublishDeps {
  bus: EventBus;
  logger: Logger;
}

/**
 * Publishes events that are already committed. The bus retries what its transport refuses; any
 * other failure loses nothing either: subscribers fill gaps from the log (and find a stream head
 * ahead of them within seconds) and reconnecting clients replay it, so it is logged, not thrown.
 */
export async function publishCommitted({ bus, logger }: PublishDeps, events: StreamEvent[]) {
  try {
    await bus.publish(events);
  } catch (error) {
    logger.warn({ err: error, events: events.length }, 'publish failed; events stay in the log');
  }
}
