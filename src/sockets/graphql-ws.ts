import type { IncomingMessage, Server } from 'node:http';
import type { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { refusalFor, withErrorCode } from '../api/errors.js';
import { subscriptionCapErrors } from '../api/limits.js';
import { clientAddress, type RateLimits } from '../api/rate-limits.js';
import type { CredentialWatch } from '../auth/credential-watch.js';
import type { Viewer } from '../auth/viewer.js';
import type { Context } from '../schema/context.js';
import type { Services } from '../services.js';
import { createAnonymousSockets } from './anonymous-sockets.js';
import { clientMessageReviver } from './client-messages.js';
import { SocketSession } from './session.js';
import { guardSlowConsumers } from './slow-consumer.js';
import { trackSubscriptions } from './subscription-metrics.js';

// graphql-ws on the GraphQL path, each operation run through Yoga's envelop so every plugin
// applies to sockets too. What a socket is allowed and holds is its session's business.

/** What Yoga's context factory sees of a socket: the caller it was authenticated as. */
export type SocketServerContext = { extra?: { viewer?: Viewer } };

export interface GraphqlWsOptions {
  httpServer: Server;
  path: string;
  yoga: YogaServerInstance<SocketServerContext, Context>;
  services: Services;
  rateLimits: RateLimits;
  credentials: CredentialWatch;
}

export function attachGraphqlWs({
  httpServer,
  path,
  yoga,
  services,
  rateLimits,
  credentials,
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

  const subscriptions = trackSubscriptions(metrics);
  const sessionDependencies = {
    authenticate: services.authenticate,
    connections: services.connections,
    rateLimits,
    anonymousSockets: createAnonymousSockets(config.WS_MAX_ANONYMOUS_PER_IP),
    credentials,
    anonymousTimeoutMs: config.WS_ANONYMOUS_TIMEOUT_MS,
    logger,
  };
  const sessions = new WeakMap<WebSocket, SocketSession>();
  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const address = clientAddress(request, config.TRUST_PROXY_HOPS);
    const session = new SocketSession(socket, address, sessionDependencies);
    sessions.set(socket, session);
    metrics.connectedSockets.inc();
    socket.once('close', () => {
      metrics.connectedSockets.dec();
      subscriptions.socketClosed(socket);
      void session.end();
    });
  });
  const sessionOf = (extra: { socket: WebSocket }) => sessions.get(extra.socket)!;

  const server = useServer<Record<string, unknown> | undefined>(
    {
      connectionInitWaitTimeout: config.WS_CONNECTION_INIT_TIMEOUT_MS,
      // Messages only a server sends are refused with 4400, not answered as internal errors.
      jsonMessageReviver: clientMessageReviver,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: (ctx) => sessionOf(ctx.extra).connect(ctx.connectionParams),
      onSubscribe: async (ctx, id, params) => {
        const overCap = subscriptionCapErrors(
          ctx.subscriptions,
          config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        );
        if (overCap) return overCap;
        const session = sessionOf(ctx.extra);
        try {
          await session.authorizeOperation(params.extensions);
        } catch (error) {
          const refusal = refusalFor(error);
          if (!refusal) throw error;
          // graphql-ws takes only GraphQLErrors from onSubscribe; they skip Yoga's masking.
          return [createGraphQLError(refusal.message, { extensions: { code: refusal.code } })];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          extra: { ...ctx.extra, viewer: session.viewer },
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
        subscriptions.started(ctx.extra.socket, id, args);
        return args;
      },
      onComplete: (ctx, id) => subscriptions.completed(ctx.extra.socket, id),
    },
    wsServer,
  );

  return {
    /** Closes every socket with 1001 (going away). */
    dispose: () => server.dispose(),
  };
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
