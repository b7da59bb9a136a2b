import { z } from 'zod';

// Every environment variable the service reads, parsed and validated once. Nothing else in
// src/ reads process.env.

const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const seconds = positive;
const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
/** `true` or `false`; unset leaves the choice to NODE_ENV (see below). */
const flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true'));
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ });

/** One Redis server, or a Redis Cluster reached through its seed nodes. */
export type RedisTarget = { url: string } | { clusterNodes: { host: string; port: number }[] };

function redisTarget(url: string | undefined, nodes: string[]): RedisTarget | undefined {
  if (url) return { url };
  if (nodes.length === 0) return undefined;
  return {
    clusterNodes: nodes.map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
  };
}

const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    LOG_LEVEL: logLevel,
    DATABASE_URL: optionalString.pipe(postgresUrl.optional()),
    /** Connections each instance keeps to PostgreSQL (node-postgres's default is 10). */
    DATABASE_POOL_SIZE: positive(10),
    /** A streaming replica for client-facing reads (inbox, history, counts); see db/replica.ts. */
    DATABASE_REPLICA_URL: optionalString.pipe(postgresUrl.optional()),
    /** How long a read waits for the replica to catch up before reading from the primary. */
    REPLICA_MAX_WAIT_MS: positive(200),
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
    /** Seed nodes (host:port, comma-separated) of a Redis Cluster: used instead of REDIS_URL. */
    REDIS_CLUSTER_NODES: commaList.pipe(
      z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'each node must be host:port')),
    ),
    /** Sharded pub/sub channels events are spread over on a cluster (by stream). */
    REDIS_CLUSTER_SHARDS: positive(16).pipe(z.number().max(1024)),
    REDIS_CHANNEL_PREFIX: z.string().default('notifications:'),
    JWT_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    JWT_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    SERVICE_API_KEYS: commaList.pipe(
      z.array(z.string().min(16, 'each key must be at least 16 characters')),
    ),
    MAX_CONNECTIONS_PER_USER: z.coerce.number().int().positive().default(5),
    DEFAULT_DELETE_AFTER_SECONDS: seconds(30 * 24 * 3600),
    /** Sends one sendNotifications call may carry; each counts as a send for rate limits. */
    MAX_SENDS_PER_BATCH: positive(1000),
    /** Members one topic may have: a send to it stores a receipt and an event per member. */
    TOPIC_MAX_MEMBERS: positive(100_000),
    RETENTION_INTERVAL_SECONDS: seconds(60),
    EVENT_LOG_RETENTION_SECONDS: seconds(7 * 24 * 3600),
    /** Rows the retention job deletes (or appends as DELETED events) per run, and as many again for the log prune. */
    RETENTION_MAX_ROWS_PER_RUN: positive(100_000),
    INSTANCE_HEARTBEAT_SECONDS: seconds(10),
    SHUTDOWN_TIMEOUT_SECONDS: seconds(10),

    // Query limits (graphql-armor), over HTTP and graphql-ws alike. The defaults leave room for
    // every operation in documents/ and GraphiQL's introspection query.
    MAX_QUERY_DEPTH: positive(10),
    MAX_QUERY_ALIASES: count(15),
    MAX_QUERY_COST: positive(20_000),
    MAX_QUERY_TOKENS: positive(1000),
    MAX_QUERY_DIRECTIVES: count(50),
    // Transport limits.
    MAX_REQUEST_BYTES: positive(1024 * 1024),
    WS_MAX_PAYLOAD_BYTES: positive(256 * 1024),
    WS_CONNECTION_INIT_TIMEOUT_MS: positive(5000),
    MAX_SUBSCRIPTIONS_PER_CONNECTION: positive(20),
    /** An anonymous socket that authenticates no operation by then is closed (4432). */
    WS_ANONYMOUS_TIMEOUT_MS: positive(10_000),
    /** Anonymous sockets one address may hold open on an instance. */
    WS_MAX_ANONYMOUS_PER_IP: positive(20),
    /** How often open sockets' API keys are checked for revocation. */
    CREDENTIALS_RECHECK_SECONDS: seconds(5),
    /** Bytes a socket may hold for a client that reads slowly; see sockets/slow-consumer.ts. */
    MAX_SOCKET_BUFFER_BYTES: positive(1024 * 1024),
    // Rate limits: how many per window, 0 for no limit; counted across instances in REDIS_URL.
    // A mutation counts once per root field, so aliases do not multiply the allowance. Connection
    // attempts are counted per IP before authentication, then per user (or API key).
    RATE_LIMIT_MUTATIONS_PER_USER: count(120),
    RATE_LIMIT_MUTATIONS_PER_API_KEY: count(6000),
    RATE_LIMIT_MUTATIONS_WINDOW_SECONDS: seconds(60),
    /** Root fields of queries, and subscription starts, per window. */
    RATE_LIMIT_QUERIES_PER_USER: count(1200),
    RATE_LIMIT_QUERIES_PER_API_KEY: count(12_000),
    RATE_LIMIT_QUERIES_WINDOW_SECONDS: seconds(60),
    RATE_LIMIT_CONNECTIONS_PER_USER: count(60),
    RATE_LIMIT_CONNECTIONS_PER_IP: count(600),
    RATE_LIMIT_CONNECTIONS_WINDOW_SECONDS: seconds(60),
    /** Proxies in front of the service whose X-Forwarded-For is believed (0: use the peer). */
    TRUST_PROXY_HOPS: count(0),
    // Webhooks (createWebhook): deliveries from the outbox in PostgreSQL.
    /** Lets webhook URLs resolve to private, loopback or link-local addresses (development, tests). */
    WEBHOOK_ALLOW_PRIVATE: flag.transform((value) => value ?? false),
    WEBHOOK_MAX_PER_SERVICE: positive(10),
    /** How long a receiver has to answer one delivery. */
    WEBHOOK_TIMEOUT_SECONDS: seconds(10),
    /** The first retry's delay; each next one doubles (with jitter), up to an hour. */
    WEBHOOK_RETRY_BASE_SECONDS: seconds(30),
    /** A delivery is retried this long after its event before it is marked failed. */
    WEBHOOK_RETRY_HOURS: positive(24),
    /** Delivered and failed deliveries are kept this long for support, then pruned. */
    WEBHOOK_KEEP_DAYS: positive(7),
    /** Where OpenTelemetry spans go (OTLP over HTTP); unset: no tracing, nothing of it loaded. */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    // Exposure. Unset: on in development and test, off in production.
    GRAPHIQL: flag,
    INTROSPECTION: flag,
    /** Origins browsers may call from. Unset: any in development and test, none in production. */
    CORS_ORIGINS: commaList.pipe(
      z.array(
        z.union([
          z.literal('*'),
          // Browsers send an origin without a path: `https://app.example/` means its origin.
          z.url({ protocol: /^https?$/ }).transform((url) => new URL(url).origin),
        ]),
      ),
    ),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.JWT_SECRET || env.JWT_JWKS_URL, {
    message: 'JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production',
    path: ['JWT_SECRET'],
  })
  .refine((env) => !(env.REDIS_URL && env.REDIS_CLUSTER_NODES.length > 0), {
    message: 'set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), not both',
    path: ['REDIS_CLUSTER_NODES'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.DATABASE_URL, {
    message: 'DATABASE_URL is required when NODE_ENV=production',
    path: ['DATABASE_URL'],
  })
  .transform((env) => {
    const development = env.NODE_ENV !== 'production';
    return {
      ...env,
      /** Where Redis is, if anywhere: one server, or a cluster's seed nodes. */
      REDIS: redisTarget(env.REDIS_URL, env.REDIS_CLUSTER_NODES),
      GRAPHIQL: env.GRAPHIQL ?? development,
      INTROSPECTION: env.INTROSPECTION ?? development,
      CORS_ORIGINS: env.CORS_ORIGINS.length > 0 || !development ? env.CORS_ORIGINS : ['*'],
    };
  });

export type Config = z.infer<typeof environmentSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** What `npm run migrate` reads: a release step needs the database and nothing else. */
const migrationSchema = z.object({
  LOG_LEVEL: logLevel,
  DATABASE_URL: z
    .string({
      error:
        'required: the PostgreSQL database to migrate, postgresql://user:password@host:5432/database',
    })
    .pipe(postgresUrl),
});

export type MigrationConfig = z.infer<typeof migrationSchema>;

/** Parses the environment; throws a ConfigError naming each wrong variable and why. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  return parseEnvironment(environmentSchema, environment);
}

export function loadMigrationConfig(environment: NodeJS.ProcessEnv = process.env): MigrationConfig {
  return parseEnvironment(migrationSchema, environment);
}

function parseEnvironment<T>(schema: z.ZodType<T>, environment: NodeJS.ProcessEnv): T {
  // `PORT=` in an .env file means "not set", not "port 0".
  const set = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const result = schema.safeParse(set);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map(
      (issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`,
    ),
  );
}
