import { randomUUID } from 'node:crypto';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.js';
import type { Services } from '../services.js';
import { ConnectionLimitError } from '../connections/connection-registry.js';

/**
 * A user's subscription over HTTP (Server-Sent Events) is a connection like a socket: recorded
 * for as long as it runs, under the same MAX_CONNECTIONS_PER_USER, counted in metrics. Sockets
 * are recorded by their session, once per socket, so their operations are left alone here.
 */
export function useSseConnections(
  services: Pick<Services, 'connections' | 'metrics' | 'logger'>,
): Plugin<Context> {
  const { connections, metrics, logger } = services;
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Context & { socket?: unknown };
      if (context.socket !== undefined || context.viewer.kind !== 'user') return;
      const { userId, sessionId } = context.viewer;
      const connectionId = randomUUID();
      try {
        await connections.open(connectionId, userId, sessionId);
      } catch (error) {
        if (!(error instanceof ConnectionLimitError)) throw error;
        setResultAndStopExecution({
          errors: [createGraphQLError(error.message, { extensions: { code: error.code } })],
        });
        return;
      }
      metrics.sseSubscriptions.inc();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        metrics.sseSubscriptions.dec();
        connections
          .close(connectionId)
          .catch((error: unknown) => logger.warn({ err: error }, 'connection record not removed'));
      };
      return {
        // A subscription refused at its start is a result, not a stream: nothing to wait for.
        onSubscribeResult: ({ result }) =>
          Symbol.asyncIterator in result ? { onEnd: release } : release(),
        onSubscribeError: release,
      };
    },
  };
}
