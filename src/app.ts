import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLError } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createUserTokenVerifier } from './auth/user-tokens.js';
import { AuthenticationError, type Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import { createDatabase } from './db/client.js';
import { corsOption } from './api/cors.js';
import { createErrorMasker } from './api/errors.js';
import { createHealthHandler, dependencyChecks } from './api/health.js';
import { useIntrospection } from './api/introspection.js';
import { subscriptionCapErrors, useQueryLimits, useRequestBodyLimit } from './api/limits.js';
import { clientAddress, createRateLimits } from './api/rate-limits.js';
import { createSecurityHeaders } from './api/security-headers.js';
import { createJobs } from './jobs/agenda.js';
import type { Logger } from './logger.js';
import { createLocalBus } from './realtime/bus.js';
import { ConnectionLimitError, createConnectionRegistry } from './realtime/connections.js';
import { createRedisBus } from './realtime/redis-bus.js';
import { schema } from './schema/index.js';
import type { Context } from './schema/context.js';
import type { Services } from './services.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** The migrated database to use. */
  databaseUrl: string;
}

export interface App {
  services: Services;
  /** Listens on `port` (0 picks a free one) and resolves with the URL of the GraphQL endpoint. */
  start(port?: number): Promise<string>;
  /** Closes sockets with 1001 (going away), stops jobs, disconnects; safe to call twice. */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';
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

// A type alias, not an interface: graphql-ws wants it to be a plain record.
type SocketExtra = { request: IncomingMessage; viewer?: Viewer; connectionId?: string };

export function buildApp({ config, logger, databaseUrl }: AppOptions): App {
  const database = createDatabase(databaseUrl);
  const instanceId = randomUUID();
  const services: Services = {
    config,
    logger,
    database,
    instanceId,
    bus: config.REDIS_URL
      ? createRedisBus({
          url: config.REDIS_URL,
          channelPrefix: config.REDIS_CHANNEL_PREFIX,
          instanceId,
          logger,
        })
      : createLocalBus(),
    connections: createConnectionRegistry({
      database,
      instanceId,
      maxPerUser: config.MAX_CONNECTIONS_PER_USER,
      heartbeatSeconds: config.INSTANCE_HEARTBEAT_SECONDS,
      logger,
    }),
    authenticate: createAuthenticator(
      createUserTokenVerifier({
        secret: config.JWT_SECRET,
        jwksUrl: config.JWT_JWKS_URL,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      }),
      createApiKeyVerifier(database, config.SERVICE_API_KEYS),
    ),
  };

  const jobs = createJobs({
    databaseUrl,
    instanceId,
    intervalSeconds: config.RETENTION_INTERVAL_SECONDS,
    retention: services,
    logger,
  });

  const rateLimits = createRateLimits(config, logger);
  const securityHeaders = createSecurityHeaders({ production: config.NODE_ENV === 'production' });

  const yoga = createYoga<{ extra?: SocketExtra }, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: config.GRAPHIQL && { subscriptionsProtocol: 'WS', title: 'Notifications' },
    landingPage: false,
    // Error details (originalError) only in development, as config says, not process.env.
    maskedErrors: {
      maskError: createErrorMasker(logger),
      isDev: config.NODE_ENV === 'development',
    },
    cors: corsOption(config.CORS_ORIGINS),
    plugins: [
      useRequestBodyLimit(config.MAX_REQUEST_BYTES),
      useQueryLimits(config),
      useIntrospection(config.INTROSPECTION),
      rateLimits.plugin,
      securityHeaders.plugin,
    ],
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
    context: async ({ request, extra }) => ({
      services,
      // A socket was authenticated once, at connection init; a request brings its own credentials.
      viewer:
        extra?.viewer ??
        (await services.authenticate({
          authorization: request.headers.get('authorization'),
          apiKey: request.headers.get('x-api-key'),
        })),
    }),
  });

  const health = createHealthHandler(dependencyChecks(services));
  const httpServer: Server = createServer((request, response) => {
    const requestId = request.headers['x-request-id']?.toString() ?? randomUUID();
    response.setHeader('x-request-id', requestId);
    securityHeaders.apply(response);
    if (health(request, response)) return;
    const started = performance.now();
    response.on('finish', () =>
      logger.info(
        {
          requestId,
          method: request.method,
          url: request.url,
          status: response.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      ),
    );
    void yoga.requestListener(request, response);
  });

  // A message over maxPayload closes its socket with 1009.
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
  });
  const graphqlWs = useServer<Record<string, unknown> | undefined, Omit<SocketExtra, 'request'>>(
    {
      connectionInitWaitTimeout: config.WS_CONNECTION_INIT_TIMEOUT_MS,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const { authorization, apiKey } = ctx.connectionParams ?? {};
        const refuse = (wait: number) => {
          ctx.extra.socket.close(
            CLOSE_RATE_LIMITED,
            `too many connection attempts; retry after ${wait} s`,
          );
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
          ctx.extra.viewer = viewer;
          const viewerWait = await rateLimits.connectionBy(viewer);
          if (viewerWait !== undefined) return refuse(viewerWait);
          if (viewer.kind === 'user') {
            const connectionId = randomUUID();
            await services.connections.open(connectionId, viewer.userId, viewer.sessionId);
            ctx.extra.connectionId = connectionId;
          }
        } catch (error) {
          if (error instanceof AuthenticationError) {
            ctx.extra.socket.close(CLOSE_UNAUTHENTICATED, error.message);
            return false;
          }
          if (error instanceof ConnectionLimitError) {
            ctx.extra.socket.close(CLOSE_TOO_MANY_CONNECTIONS, error.message);
            return false;
          }
          throw error;
        }
        return true;
      },
      onDisconnect: async (ctx) => {
        if (!ctx.extra.connectionId) return;
        // A record left behind is reaped with its instance; a failure here must not crash.
        await services.connections
          .close(ctx.extra.connectionId)
          .catch((error: unknown) => logger.warn({ err: error }, 'connection record not removed'));
      },
      onSubscribe: async (ctx, _id, params) => {
        const overCap = subscriptionCapErrors(
          ctx.subscriptions,
          config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        );
        if (overCap) return overCap;
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
          if (error instanceof Error && error.name === 'GraphQLError')
            return [error as GraphQLError];
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
        return errors.length > 0 ? errors : args;
      },
    },
    wsServer,
  );

  let stopping: Promise<void> | undefined;
  return {
    services,
    start: async (port = config.PORT) => {
      await services.bus.start();
      await services.connections.start();
      await rateLimits.start();
      await jobs.start();
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, config.HOST, () => {
          const { port: actualPort } = httpServer.address() as AddressInfo;
          resolve(`http://localhost:${actualPort}${GRAPHQL_PATH}`);
        });
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        // Drain: refuse new connections, send sockets away with 1001 so clients resume on
        // another instance, let requests in flight (sends) finish, then force what is left.
        const drained = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await graphqlWs.dispose();
        const grace = setTimeout(
          () => httpServer.closeAllConnections(),
          (config.SHUTDOWN_TIMEOUT_SECONDS * 1000) / 2,
        );
        await drained;
        clearTimeout(grace);
        await jobs.stop();
        await services.connections.stop();
        await services.bus.close();
        await rateLimits.close();
        await database.$disconnect();
      })()),
  };
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
