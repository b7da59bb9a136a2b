import type { Logger } from '../logger.js';

/** What may wait for the transport; past it the oldest wait no more (the head check finds them). */
const MAX_WAITING_BYTES = 16 * 1024 * 1024;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

export interface RetryingPublisher {
  /** Publishes in order; what the transport refuses waits and is retried, never thrown. */
  publish(messages: string[]): Promise<void>;
  /** The transport is back: retry now rather than at the next back-off step. */
  retryNow(): void;
  close(): void;
}

/**
 * A failed publish is not left for the next event of its stream to repair (which may come days
 * later): it is retried with back-off, and at once when the connection is back, so the other
 * instances get it within seconds. Later messages wait behind it, keeping the order.
 */
export function createRetryingPublisher(
  send: (message: string) => Promise<unknown>,
  logger: Logger,
): RetryingPublisher {
  const waiting: string[] = [];
  let waitingBytes = 0;
  let delay = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;
  let draining = false;
  let closed = false;

  const enqueue = (messages: string[]) => {
    for (const message of messages) {
      waiting.push(message);
      waitingBytes += Buffer.byteLength(message);
    }
    let dropped = 0;
    for (; waitingBytes > MAX_WAITING_BYTES; dropped++) {
      waitingBytes -= Buffer.byteLength(waiting.shift()!);
    }
    if (dropped > 0) {
      logger.warn({ dropped }, 'publish backlog full; the oldest messages are left to the log');
    }
  };

  const schedule = () => {
    if (closed || draining || timer || waiting.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void drain();
    }, delay).unref();
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  };

  const drain = async () => {
    if (draining || closed) return;
    draining = true;
    try {
      while (waiting.length > 0 && !closed) {
        await send(waiting[0]!);
        waitingBytes -= Buffer.byteLength(waiting.shift()!);
      }
      delay = FIRST_RETRY_MS;
      logger.info('published the messages whose publish had failed');
    } catch (error) {
      logger.debug({ err: error, waiting: waiting.length }, 'publish retry failed');
    } finally {
      draining = false;
    }
    schedule();
  };

  return {
    async publish(messages) {
      if (waiting.length > 0) return enqueue(messages);
      const results = await Promise.allSettled(messages.map(send));
      const failed = results.flatMap((result, index) =>
        result.status === 'rejected' ? [{ message: messages[index]!, error: result.reason }] : [],
      );
      if (failed.length === 0) return;
      logger.warn(
        { err: failed[0]!.error, messages: failed.length },
        'publish failed; retrying with back-off',
      );
      enqueue(failed.map(({ message }) => message));
      schedule();
    },
    retryNow() {
      clearTimeout(timer);
      timer = undefined;
      if (waiting.length > 0) void drain();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      waiting.length = 0;
    },
  };
}
