import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createUserTokenVerifier } from './auth/user-tokens.js';
import { AuthenticationError, type Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import { createDatabase } from './db/client.js';
import { maskError } from './api/errors.js';
import { createHealthHandler } from './api/health.js';
import type { Logger } from './logger.js';
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

// A type alias, not an interface: graphql-ws wants it to be a plain record.
type SocketExtra = { request: IncomingMessage; viewer?: Viewer };

export function buildApp({ config, logger, databaseUrl }: AppOptions): App {
  const database = createDatabase(databaseUrl);
  const services: Services = {
    config,
    logger,
    database,
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

  const yoga = createYoga<{ extra?: SocketExtra }, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Notifications' },
    landingPage: false,
    maskedErrors: { maskError },
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

  const health = createHealthHandler(services);
  const httpServer: Server = createServer((request, response) => {
    const requestId = request.headers['x-request-id']?.toString() ?? randomUUID();
    response.setHeader('x-request-id', requestId);
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

  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH });
  const graphqlWs = useServer<Record<string, unknown> | undefined, { viewer?: Viewer }>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          ctx.extra.viewer = await services.authenticate({
            authorization: typeof authorization === 'string' ? authorization : undefined,
          });
        } catch (error) {
          if (!(error instanceof AuthenticationError)) throw error;
          ctx.extra.socket.close(CLOSE_UNAUTHENTICATED, error.message);
          return false;
        }
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
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
    start: (port = config.PORT) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, config.HOST, () => {
          const { port: actualPort } = httpServer.address() as AddressInfo;
          resolve(`http://localhost:${actualPort}${GRAPHQL_PATH}`);
        });
      }),
    stop: () =>
      (stopping ??= (async () => {
        await graphqlWs.dispose();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await database.$disconnect();
      })()),
  };
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
