import { randomUUID } from 'node:crypto';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { CredentialWatch } from '../auth/credential-watch.js';
import type { Context } from '../schema/context.js';
import type { Services } from '../services.js';
import { ConnectionLimitError } from '../connections/connection-registry.js';
import { endingWith } from './ending-stream.js';

/**
 * A user's subscription over HTTP (Server-Sent Events) is a connection like a socket: recorded
 * for as long as it runs, under the same MAX_CONNECTIONS_PER_USER, counted in metrics, and ended
 * when its credentials end (a last event with the error why, then `complete`). Sockets are
 * recorded and watched by their session, once per socket, so their operations are left alone
 * here. Only users subscribe (the subscription fields' authScopes).
 */
export function useSseConnections(
  services: Pick<Services, 'connections' | 'metrics' | 'logger'>,
  credentials: CredentialWatch,
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
      let removed: Promise<void> | undefined;
      const release = (): Promise<void> => {
        if (removed) return removed;
        stopWatching();
        metrics.sseSubscriptions.dec();
        removed = connections
          .close(connectionId)
          .catch((error: unknown) => logger.warn({ err: error }, 'connection record not removed'));
        return removed;
      };
      let end!: (last: ExecutionResult) => void;
      const ending = new Promise<ExecutionResult>((resolve) => (end = resolve));
      const stopWatching = credentials.watch(context.viewer, (why) => {
        // Released at once, not when a client that stopped reading takes the last event; and the
        // record is gone before the client hears why, so one that comes straight back with new
        // credentials is not refused over MAX_CONNECTIONS_PER_USER by its own old record.
        void release().then(() =>
          end({ errors: [createGraphQLError(why.message, { extensions: { code: why.code } })] }),
        );
      });
      return {
        // A subscription refused at its start is a result, not a stream: nothing to wait for.
        onSubscribeResult: ({ result, setResult }) => {
          if (!(Symbol.asyncIterator in result)) return void release();
          setResult(endingWith(result[Symbol.asyncIterator](), ending));
          return { onEnd: () => void release() };
        },
        onSubscribeError: () => void release(),
      };
    },
  };
}
