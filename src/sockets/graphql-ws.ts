import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { AuthenticationError, type Viewer } from '../auth/viewer.js';
import type { Credentials } from '../auth/authenticate.js';
import type { ErrorCode } from '../errors.js';
import { clientMessageReviver } from './client-messages.js';
import { ConnectionLimitError } from './connections.js';
import { guardSlowConsumers } from './slow-consumer.js';
import type { Context } from '../schema/context.js';
import type { Services } from '../services.js';
import { isDatabaseUnavailable, withErrorCode } from '../api/errors.js';
import { subscriptionCapErrors } from '../api/limits.js';
import { clientAddress, type RateLimits } from '../api/rate-limits.js';

// graphql-ws on the GraphQL path: authentication when a socket opens, connection records and
// limits, and each operation run through Yoga's envelop so every plugin applies to sockets too.

/** Close code for a connection whose credentials were refused (HTTP 401's twin). */
export const CLOSE_UNAUTHENTICATED = 4401;
/** Close code for a connection over MAX_CONNECTIONS_PER_USER (HTTP 429's twin). */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/**
 * Close code for a connection attempt over RATE_LIMIT_CONNECTIONS_PER_USER or _PER_IP. Not 4429:
 * that one means "close another connection first", this one "wait": the reason ends with
 * "retry after <n> s". Also: 1009 for a message over WS_MAX_PAYLOAD_BYTES (set by `ws`), 4408
 * for no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS (set by graphql-ws).
 */
export const CLOSE_RATE_LIMITED = 4430;
/** Close code for a connection that cannot be served now (the database is away): retry. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

// A type alias, not an interface: graphql-ws wants it to be a plain record.
type SocketState = {
  viewer?: Viewer;
  connectionId?: string;
  /** Running operations by id, with the root field each one counts under in metrics. */
  operations?: Map<string, string>;
};

/** What Yoga's context factory sees of a socket: the caller it was authenticated as. */
export type SocketServerContext = { extra?: { viewer?: Viewer } };

export interface GraphqlWsOptions {
  httpServer: Server;
  path: string;
  yoga: YogaServerInstance<SocketServerContext, Context>;
  services: Services;
  rateLimits: RateLimits;
}

export function attachGraphqlWs({
  httpServer,
  path,
  yoga,
  services,
  rateLimits,
}: GraphqlWsOptions) {
  const { config, logger, metrics } = services;
  // A message over maxPayload closes its socket with 1009.
  const wsServer = new WebSocketServer({
    server: httpServer,
    path,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
  });
  // A client that stops reading is closed (4413) before what waits for it grows past a bound.
  guardSlowConsumers(wsServer, { maxBufferedBytes: config.MAX_SOCKET_BUFFER_BYTES, logger });

  /** Records a user's connection; throws ConnectionLimitError over the limit. */
  const bind = async (state: SocketState, viewer: Viewer) => {
    if (viewer.kind === 'user') {
      const connectionId = randomUUID();
      await services.connections.open(connectionId, viewer.userId, viewer.sessionId);
      state.connectionId = connectionId;
    }
    state.viewer = viewer;
  };

  return useServer<Record<string, unknown> | undefined, SocketState>(
    {
      connectionInitWaitTimeout: config.WS_CONNECTION_INIT_TIMEOUT_MS,
      // Messages only a server sends are refused with 4400, not answered as internal errors.
      jsonMessageReviver: clientMessageReviver,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const { authorization, apiKey } = ctx.connectionParams ?? {};
        const { socket } = ctx.extra;
        const refuse = (wait: number) => {
          socket.close(CLOSE_RATE_LIMITED, `too many connection attempts; retry after ${wait} s`);
          return false;
        };
        // Counted before authenticating, so refused credentials cost an attacker too.
        const ipWait = await rateLimits.connectionFromIp(
          clientAddress(ctx.extra.request, config.TRUST_PROXY_HOPS),
        );
        if (ipWait !== undefined) return refuse(ipWait);
        try {
          const viewer = await services.authenticate({
            authorization: typeof authorization === 'string' ? authorization : undefined,
            apiKey: typeof apiKey === 'string' ? apiKey : undefined,
          });
          const viewerWait = await rateLimits.connectionBy(viewer);
          if (viewerWait !== undefined) return refuse(viewerWait);
          await bind(ctx.extra, viewer);
        } catch (error) {
          if (error instanceof AuthenticationError) {
            socket.close(CLOSE_UNAUTHENTICATED, error.message);
            return false;
          }
          if (error instanceof ConnectionLimitError) {
            socket.close(CLOSE_TOO_MANY_CONNECTIONS, error.message);
            return false;
          }
          if (isDatabaseUnavailable(error)) {
            // Not 4500: graphql-ws clients take that as final and stop reconnecting.
            socket.close(CLOSE_TRY_AGAIN_LATER, 'service unavailable; try again shortly');
            return false;
          }
          throw error;
        }
        metrics.connectedSockets.inc();
        return true;
      },
      onDisconnect: async (ctx) => {
        metrics.connectedSockets.dec();
        // graphql-ws may or may not call onComplete for these afterwards: forget them here.
        for (const operation of ctx.extra.operations?.values() ?? []) {
          metrics.activeSubscriptions.dec({ operation });
        }
        ctx.extra.operations?.clear();
        if (!ctx.extra.connectionId) return;
        // A record left behind is reaped with its instance; a failure here must not crash.
        await services.connections
          .close(ctx.extra.connectionId)
          .catch((error: unknown) => logger.warn({ err: error }, 'connection record not removed'));
      },
      onSubscribe: async (ctx, id, params) => {
        const overCap = subscriptionCapErrors(
          ctx.subscriptions,
          config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        );
        if (overCap) return overCap;
        const refused = await authenticateOperation(ctx.extra, params.extensions, bind, services);
        if (refused) return [refused];
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          // A syntax error or a query over MAX_QUERY_TOKENS is the client's: answer it as an
          // error of this operation instead of letting graphql-ws close the socket with 4500.
          // By name: graphql's CommonJS and ESM builds each have their own GraphQLError class.
          if (error instanceof Error && error.name === 'GraphQLError') {
            return [withErrorCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
          }
          throw error;
        }
        const args = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        track(ctx.extra, id, args, metrics);
        return args;
      },
      onComplete: (ctx, id) => {
        const operation = ctx.extra.operations?.get(id);
        if (operation === undefined) return;
        ctx.extra.operations!.delete(id);
        metrics.activeSubscriptions.dec({ operation });
      },
    },
    wsServer,
  );
}

/**
 * GraphiQL (and other clients built on graphql-tools' executors) open the socket without
 * credentials and send the Headers tab with each operation, in `extensions.headers`. A socket
 * that opened anonymous is bound to the first user or service those headers authenticate; it
 * cannot change to another. Returns the error to answer the operation with, if refused.
 */
async function authenticateOperation(
  state: SocketState,
  extensions: Record<string, unknown> | null | undefined,
  bind: (state: SocketState, viewer: Viewer) => Promise<void>,
  services: Services,
): Promise<GraphQLError | undefined> {
  const credentials = credentialsIn(extensions?.headers);
  if (!credentials) return undefined;
  try {
    const viewer = await services.authenticate(credentials);
    if (!state.viewer || state.viewer.kind === 'anonymous') {
      await bind(state, viewer);
      services.logger.debug('socket authenticated by operation headers');
      return undefined;
    }
    if (sameViewer(state.viewer, viewer)) return undefined;
    return operationError('FORBIDDEN', 'this connection belongs to another caller');
  } catch (error) {
    if (error instanceof AuthenticationError || error instanceof ConnectionLimitError) {
      return operationError('UNAUTHENTICATED', error.message);
    }
    if (isDatabaseUnavailable(error)) {
      return operationError(
        'SERVICE_UNAVAILABLE',
        'the service is temporarily unavailable; try again shortly',
      );
    }
    throw error;
  }
}

/** graphql-ws takes only GraphQLErrors from onSubscribe; they skip Yoga's masking. */
const operationError = (code: ErrorCode, message: string) =>
  createGraphQLError(message, { extensions: { code } });

function credentialsIn(headers: unknown): Credentials | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const byName = new Map(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const),
  );
  const authorization = byName.get('authorization');
  const apiKey = byName.get('x-api-key');
  if (typeof authorization !== 'string' && typeof apiKey !== 'string') return undefined;
  return {
    authorization: typeof authorization === 'string' ? authorization : undefined,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
  };
}

const sameViewer = (a: Viewer, b: Viewer) =>
  (a.kind === 'user' && b.kind === 'user' && a.userId === b.userId) ||
  (a.kind === 'service' && b.kind === 'service' && a.service === b.service);

/** Counts a subscription under its root field until it completes or the socket closes. */
function track(state: SocketState, id: string, args: ExecutionArgs, metrics: Services['metrics']) {
  const operation = args.document.definitions.find(
    (definition) =>
      definition.kind === 'OperationDefinition' &&
      (!args.operationName || definition.name?.value === args.operationName),
  );
  if (operation?.kind !== 'OperationDefinition' || operation.operation !== 'subscription') return;
  const field = operation.selectionSet.selections[0];
  const name = field?.kind === 'Field' ? field.name.value : 'unknown';
  (state.operations ??= new Map()).set(id, name);
  metrics.activeSubscriptions.inc({ operation: name });
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
