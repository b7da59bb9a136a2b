import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import { CLOSE } from './close-codes.js';

export interface SlowConsumerOptions {
  /** Bytes a socket may have waiting to be sent before a send has to wait for the client. */
  maxBufferedBytes: number;
  /** How long a send may wait for the client to read before the socket is closed as slow. */
  stallTimeoutMs?: number;
  /** How long a closed slow socket may try to send its close frame before it is destroyed. */
  closeGraceMs?: number;
  logger?: Pick<Logger, 'warn'>;
}

type Send = WebSocket['send'];
type SendOptions = Exclude<Parameters<Send>[1], ((error?: Error) => void) | undefined>;
type SendCallback = (error?: Error) => void;

/**
 * Bounds what a client that stops reading can make this process hold.
 *
 * graphql-ws (`graphql-ws/use/ws`) waits until each message is written to the socket before it
 * takes the next event of a subscription. A client that never reads therefore stalls its
 * subscriptions once the kernel's buffers are full, and the live events meant for it pile up
 * upstream, in each subscription's queue, where nothing counts or limits them, until the
 * keep-alive gives up on the socket (graphql-ws: a ping every 12 s, 12 s to answer).
 *
 * With this guard, a send returns as soon as `ws` has queued the message while the socket has at
 * most `maxBufferedBytes` waiting. Past that, a send waits until the client has read enough to
 * bring it back under the limit, but at most `stallTimeoutMs`: a client that has not by then is
 * closed with 4413 (and destroyed after `closeGraceMs`, since a client that does not read will
 * not read the close frame either). So a client that reads, even slowly or through a long
 * replay, keeps its socket and paces its subscriptions; one that stops reading costs at most
 * `maxBufferedBytes` plus what is published to it during `stallTimeoutMs`, and when it comes
 * back it resumes from its last cursor like any other reconnecting client.
 *
 * graphql-ws's `ws` adapter has no backpressure hook (only its uWebSockets adapter has one), so
 * the guard wraps `socket.send`. Call it once on the server graphql-ws uses, before or after
 * `useServer`.
 */
export function guardSlowConsumers(wsServer: WebSocketServer, options: SlowConsumerOptions) {
  const { maxBufferedBytes, stallTimeoutMs = 5000, closeGraceMs = 1000, logger } = options;
  let closed = 0;

  const closeSlow = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return;
    closed += 1;
    logger?.warn(
      { buffered: socket.bufferedAmount, maxBufferedBytes, stallTimeoutMs },
      'closing a slow consumer',
    );
    socket.close(CLOSE.slowConsumer.code, 'slow consumer: not reading what it is sent');
    setTimeout(() => socket.terminate(), closeGraceMs).unref();
  };

  wsServer.on('connection', (socket: WebSocket) => {
    const send: Send = socket.send.bind(socket);
    // Sends waiting for the socket to come back under the limit.
    const waiting = new Set<() => void>();
    const release = () => {
      for (const wake of waiting) wake();
      waiting.clear();
    };
    socket.once('close', release);
    // Each message written out is the client's progress: enough of it releases the waiters.
    const written = () => {
      if (waiting.size > 0 && socket.bufferedAmount <= maxBufferedBytes) release();
    };

    const guarded = (
      data: Parameters<Send>[0],
      optionsOrCallback?: SendOptions | SendCallback,
      callback?: SendCallback,
    ) => {
      const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
      const sendOptions = typeof optionsOrCallback === 'function' ? {} : (optionsOrCallback ?? {});
      if (socket.readyState !== socket.OPEN || !done) return send(data, sendOptions, done);
      const full = socket.bufferedAmount > maxBufferedBytes;
      // A write that fails surfaces as the socket's error and close, which graphql-ws handles.
      send(data, sendOptions, written);
      if (!full) {
        done();
        return;
      }
      const timer = setTimeout(() => {
        waiting.delete(wake);
        closeSlow(socket);
        done();
      }, stallTimeoutMs);
      const wake = () => {
        clearTimeout(timer);
        done();
      };
      waiting.add(wake);
    };
    socket.send = guarded as Send;
  });

  return {
    /** How many sockets were closed as slow consumers. */
    closedCount: () => closed,
  };
}
