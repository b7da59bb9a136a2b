import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { createYoga } from 'graphql-yoga';
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createCredentialWatch } from './auth/credential-watch.js';
import { createUserTokenVerifier } from './auth/user-tokens.js';
import type { Config } from './config.js';
import { createDatabase, createPool } from './db/client.js';
import { createReplicaReads } from './db/replica.js';
import { corsOption } from './api/cors.js';
import { createErrorMasker } from './api/errors.js';
import { createGraphiQLPage, type DevelopmentHeaders } from './api/graphiql.js';
import { createHealthHandler, dependencies } from './api/health.js';
import { useIntrospection } from './api/introspection.js';
import { useOperationSpans } from './api/operation-spans.js';
import { attachGraphqlWs, type SocketServerContext } from './sockets/graphql-ws.js';
import { useCompiledExecution } from './api/jit.js';
import { useQueryLimits, useRequestBodyLimit } from './api/limits.js';
import { createMetrics, sentLabels } from './observability/metrics.js';
import { createRateLimits } from './api/rate-limits.js';
import { createSecurityHeaders } from './api/security-headers.js';
import { useSseConnections } from './api/sse-connections.js';
import { yogaLogging } from './api/yoga-logging.js';
import { useSubscriptionRules } from './api/subscription-rules.js';
import { useSharedSubscriptionResults } from './api/shared-subscription-results.js';
import { createJobs } from './jobs/agenda.js';
import { createScheduledDispatcher } from './jobs/scheduled-dispatcher.js';
import { createSnoozeWaker } from './jobs/snooze-waker.js';
import { createWebhookDispatcher } from './jobs/webhook-dispatcher.js';
import type { Logger } from './logger.js';
import { createCatalog } from './notifications/catalog.js';
import { createPartitionsAhead } from './notifications/event-log-partitions.js';
import { createSender } from './notifications/send.js';
import { createLocalBus } from './realtime/bus.js';
import { createConnectionRegistry } from './connections/connection-registry.js';
import { createRedisBus } from './realtime/redis-bus.js';
import { schema } from './schema/index.js';
import { useReadSnapshots } from './schema/read-snapshot.js';
import type { Context } from './schema/context.js';
import type { Services } from './services.js';
import { within } from './within.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** The migrated database to use. */
  databaseUrl: string;
  /** Filled into GraphiQL's tabs; main.ts passes them in development only. */
  developmentHeaders?: DevelopmentHeaders;
}

export interface App {
  services: Services;
  /** Listens on `port` (0 picks a free one) and resolves with the URL of the GraphQL endpoint. */
  start(port?: number): Promise<string>;
  /** Closes sockets with 1001 (going away), stops jobs, disconnects; safe to call twice. */
  stop(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

export function buildApp({ config, logger, databaseUrl, developmentHeaders }: AppOptions): App {
  const pool = createPool(databaseUrl, config.DATABASE_POOL_SIZE);
  // An idle connection that breaks is dropped by the pool; this only keeps it from crashing us.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  const database = createDatabase(pool);
  const instanceId = randomUUID();
  const bus = config.REDIS
    ? createRedisBus({
        target: config.REDIS,
        shards: config.REDIS_CLUSTER_SHARDS,
        channelPrefix: config.REDIS_CHANNEL_PREFIX,
        instanceId,
        logger,
        database,
        // Called once messages flow, after `services` below exists.
        observer: {
          backlog: (bytes) => services.metrics.busBacklogBytes.set(bytes),
          dropped: () => services.metrics.busDropped.inc(),
        },
      })
    : createLocalBus();
  const replica = config.DATABASE_REPLICA_URL
    ? createReplicaReads({
        primaryPool: pool,
        primary: database,
        url: config.DATABASE_REPLICA_URL,
        poolSize: config.DATABASE_POOL_SIZE,
        maxWaitMs: config.REPLICA_MAX_WAIT_MS,
        logger,
        // Called once requests come, after `services` below exists.
        observer: {
          served: (target) => services.metrics.replicaReads.inc({ target }),
          fallback: (reason) => services.metrics.replicaFallbacks.inc({ reason }),
        },
      })
    : undefined;
  const dependsOn = dependencies({ database, bus, replica });
  const catalog = createCatalog({ database, bus });
  const services: Services = {
    config,
    logger,
    database,
    pool,
    replica,
    catalog,
    sender: createSender({ config, logger, database, pool, bus, catalog }),
    instanceId,
    bus,
    metrics: createMetrics(dependsOn),
    connections: createConnectionRegistry({
      database,
      pool,
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
    streamHooks: {},
  };

  const jobs = createJobs({
    databaseUrl,
    instanceId,
    intervalSeconds: config.RETENTION_INTERVAL_SECONDS,
    retention: services,
    logger,
    observer: {
      deleted: (count) => services.metrics.retentionDeleted.inc(count),
      rows: (part, count) => services.metrics.retentionRows.inc({ part }, count),
      failed: (part) => services.metrics.retentionFailures.inc({ part }),
    },
  });

  const snoozeWaker = createSnoozeWaker(services, logger);
  const scheduledSends = createScheduledDispatcher({
    pool,
    bus,
    logger,
    delivered: (notification) => services.metrics.sent.inc(sentLabels(notification)),
  });
  const webhooks = createWebhookDispatcher(
    pool,
    {
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      timeoutSeconds: config.WEBHOOK_TIMEOUT_SECONDS,
      retryBaseSeconds: config.WEBHOOK_RETRY_BASE_SECONDS,
      retryHours: config.WEBHOOK_RETRY_HOURS,
      keepDays: config.WEBHOOK_KEEP_DAYS,
    },
    logger,
    (outcome) => services.metrics.webhookAttempts.inc({ outcome }),
  );

  const rateLimits = createRateLimits(config, logger);
  // Sockets and SSE subscriptions alike end when their credentials do.
  const credentials = createCredentialWatch({
    database,
    intervalSeconds: config.CREDENTIALS_RECHECK_SECONDS,
    logger,
  });
  const graphiql = config.GRAPHIQL ? createGraphiQLPage(developmentHeaders) : undefined;
  const securityHeaders = createSecurityHeaders({
    production: config.NODE_ENV === 'production',
    graphiqlPolicy: graphiql?.contentSecurityPolicy,
  });

  const yoga = createYoga<SocketServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: graphiql?.options ?? false,
    renderGraphiQL: graphiql?.render,
    landingPage: false,
    // Error details (originalError) only in development, as config says, not process.env.
    maskedErrors: {
      maskError: createErrorMasker(logger),
      isDev: config.NODE_ENV === 'development',
    },
    cors: corsOption(config.CORS_ORIGINS),
    plugins: [
      useOperationSpans(),
      useRequestBodyLimit(config.MAX_REQUEST_BYTES),
      useQueryLimits(config),
      useIntrospection(config.INTROSPECTION),
      useSubscriptionRules(),
      useSharedSubscriptionResults(),
      useCompiledExecution(),
      useReadSnapshots(),
      rateLimits.plugin,
      securityHeaders.plugin,
      useSseConnections(services, credentials),
      usePrometheus({ registry: services.metrics.registry, endpoint: '/metrics' }),
    ],
    logging: yogaLogging(logger),
    context: async ({ request, extra }) => ({
      services,
      // A socket's session knows its caller (and re-checks it while it lives); a request brings its own credentials.
      viewer:
        extra?.viewer ??
        (await services.authenticate({
          authorization: request.headers.get('authorization'),
          apiKey: request.headers.get('x-api-key'),
        })),
    }),
  });

  const health = createHealthHandler(dependsOn);
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

  const graphqlWs = attachGraphqlWs({
    httpServer,
    path: GRAPHQL_PATH,
    yoga,
    services,
    rateLimits,
    credentials,
  });

  let stopping: Promise<void> | undefined;
  return {
    services,
    start: async (port = config.PORT) => {
      await services.bus.start();
      await services.connections.start();
      await rateLimits.start();
      await createPartitionsAhead(services.database);
      await jobs.start();
      credentials.start();
      snoozeWaker.start();
      scheduledSends.start();
      webhooks.start();
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
        // Each step is timed (debug) and bounded by what is left of the shutdown timeout, so one
        // that hangs is named in the log and the rest still release what they hold.
        const { step, finish } = shutdownSteps(
          logger,
          Date.now() + config.SHUTDOWN_TIMEOUT_SECONDS * 900,
        );
        // Drain: refuse new connections, send sockets away with 1001 so clients resume on
        // another instance, let requests in flight (sends) finish, then force what is left.
        const drained = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await step('sockets', () => graphqlWs.dispose());
        const grace = setTimeout(
          () => httpServer.closeAllConnections(),
          (config.SHUTDOWN_TIMEOUT_SECONDS * 1000) / 2,
        );
        await step('http', () => drained);
        clearTimeout(grace);
        credentials.stop();
        await step('snooze waker', () => snoozeWaker.stop());
        await step('scheduled sends', () => scheduledSends.stop());
        await step('webhooks', () => webhooks.stop());
        await step('jobs', () => jobs.stop());
        await step('connections', () => services.connections.stop());
        await step('bus', () => services.bus.close());
        await step('rate limits', () => rateLimits.close());
        catalog.close();
        await step('database client', () => database.$disconnect());
        await step('database pool', () => pool.end());
        if (replica) await step('replica', () => replica.close());
        finish();
      })()),
  };
}

const STEP_TIMED_OUT = Symbol('timed out');

/**
 * Runs shutdown steps one after another, each logged with its duration at debug. A step still
 * running at `deadline` (epoch ms) is left behind with a warning naming it, so the steps after it
 * still run; `finish` then throws, as the shutdown was not clean.
 */
export function shutdownSteps(logger: Logger, deadline: number) {
  const abandoned: string[] = [];
  const step = async (name: string, work: () => unknown) => {
    const started = Date.now();
    const outcome = await within(
      Promise.resolve(work()),
      Math.max(0, deadline - started),
      STEP_TIMED_OUT,
    );
    const ms = Date.now() - started;
    if (outcome === STEP_TIMED_OUT) {
      abandoned.push(name);
      logger.warn({ step: name, ms }, 'shutdown step timed out');
    } else {
      logger.debug({ step: name, ms }, 'shutdown step done');
    }
  };
  const finish = () => {
    if (abandoned.length > 0) throw new Error(`shutdown steps timed out: ${abandoned.join(', ')}`);
  };
  return { step, finish };
}
