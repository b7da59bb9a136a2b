import type { IncomingMessage } from 'node:http';
import {
  Kind,
  getOperationAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Viewer } from '../auth/viewer.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Context } from '../schema/context.js';
import type { ErrorCode } from '../errors.js';
import { createRedisClient } from '../realtime/redis-client.js';
import { batchSize } from './query-cost.js';

/** extensions.code of an operation refused by a rate limit; retryAfterSeconds says when to. */
export const RATE_LIMITED = 'RATE_LIMITED' satisfies ErrorCode;

export interface RateLimits {
  /**
   * Counts mutations, and apart from them queries and subscription starts, per user and per API
   * key (once per root field), over HTTP and graphql-ws.
   */
  plugin: Plugin<Context>;
  /** Counts a connection attempt from `ip`; resolves with seconds to wait when refused. */
  connectionFromIp(ip: string): Promise<number | undefined>;
  /** Counts a connection attempt by an authenticated caller; seconds to wait when refused. */
  connectionBy(viewer: Viewer): Promise<number | undefined>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counters live in Redis when REDIS_URL (or REDIS_CLUSTER_NODES) is set, so a limit holds across instances (keys under
 * REDIS_CHANNEL_PREFIX, so deployments sharing a Redis do not share counters). Without Redis
 * they live in memory: the service is then a single instance (its pub/sub is in-process too),
 * so one process's count is the whole count. While Redis is unreachable each instance counts
 * in memory instead (insuranceLimiter): limits loosen by the number of instances, and nothing
 * is refused because Redis is away.
 */
export function createRateLimits(config: Config, logger: Logger): RateLimits {
  const redis = config.REDIS
    ? createRedisClient(config.REDIS, {
        // A limiter must not wait for Redis: fail at once and count in memory meanwhile.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 1000,
        connectionName: 'notifications-rate-limits',
      })
    : undefined;
  redis?.on('error', (error) => logger.debug({ err: error }, 'rate-limit redis error'));

  const limiter = (name: string, points: number, duration: number) => {
    if (points === 0) return undefined;
    const options = { keyPrefix: `${config.REDIS_CHANNEL_PREFIX}rate:${name}`, points, duration };
    if (!redis) return new RateLimiterMemory(options);
    return new RateLimiterRedis({
      ...options,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  };
  const mutationWindow = config.RATE_LIMIT_MUTATIONS_WINDOW_SECONDS;
  const queryWindow = config.RATE_LIMIT_QUERIES_WINDOW_SECONDS;
  const connectionWindow = config.RATE_LIMIT_CONNECTIONS_WINDOW_SECONDS;
  const limiters = {
    userMutations: limiter('mutations:user', config.RATE_LIMIT_MUTATIONS_PER_USER, mutationWindow),
    keyMutations: limiter('mutations:key', config.RATE_LIMIT_MUTATIONS_PER_API_KEY, mutationWindow),
    userQueries: limiter('queries:user', config.RATE_LIMIT_QUERIES_PER_USER, queryWindow),
    keyQueries: limiter('queries:key', config.RATE_LIMIT_QUERIES_PER_API_KEY, queryWindow),
    callerConnections: limiter(
      'connections:caller',
      config.RATE_LIMIT_CONNECTIONS_PER_USER,
      connectionWindow,
    ),
    ipConnections: limiter(
      'connections:ip',
      config.RATE_LIMIT_CONNECTIONS_PER_IP,
      connectionWindow,
    ),
  };

  /** Seconds until `points` more would be allowed, or undefined when they were. */
  const consume = async (
    rateLimiter: RateLimiterAbstract | undefined,
    key: string,
    points = 1,
  ): Promise<number | undefined> => {
    if (!rateLimiter) return undefined;
    try {
      await rateLimiter.consume(key, points);
      return undefined;
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) {
        return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      }
      // Not a refusal but a failure (the insurance limiter should make this unreachable):
      // let the caller through rather than fail the service with its limiter.
      logger.warn({ err: refusal }, 'rate limiter failed; not limiting');
      return undefined;
    }
  };

  /** The result that refuses an operation over its caller's limit, or undefined. */
  const refusal = async (args: {
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: Record<string, unknown> | null;
    contextValue: Context;
  }) => {
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return undefined;
    const points = rootFields(operation, args.document, args.variableValues);
    if (points === 0) return undefined;
    const mutation = operation.operation === 'mutation';
    const { viewer } = args.contextValue;
    const wait =
      viewer.kind === 'user'
        ? await consume(
            mutation ? limiters.userMutations : limiters.userQueries,
            viewer.userId,
            points,
          )
        : viewer.kind === 'service'
          ? await consume(
              mutation ? limiters.keyMutations : limiters.keyQueries,
              viewer.service,
              points,
            )
          : undefined;
    if (wait === undefined) return undefined;
    const what = mutation ? 'mutations' : 'queries and subscriptions';
    return { errors: [rateLimitedError(`too many ${what}; retry after ${wait} s`, wait)] };
  };

  return {
    plugin: {
      async onExecute({ args, setResultAndStopExecution }) {
        const refused = await refusal(args);
        if (refused) setResultAndStopExecution(refused);
      },
      async onSubscribe({ args, setResultAndStopExecution }) {
        const refused = await refusal(args);
        if (refused) setResultAndStopExecution(refused);
      },
    },
    connectionFromIp: (ip) => consume(limiters.ipConnections, ip),
    connectionBy: (viewer) =>
      viewer.kind === 'user'
        ? consume(limiters.callerConnections, `user:${viewer.userId}`)
        : viewer.kind === 'service'
          ? consume(limiters.callerConnections, `service:${viewer.service}`)
          : Promise.resolve(undefined),
    async start() {
      // Not fatal: the limiters count in memory until Redis answers.
      await redis?.connect().catch((error: unknown) => {
        logger.warn({ err: error }, 'rate-limit redis unreachable; counting in memory for now');
      });
    },
    async close() {
      redis?.disconnect();
    },
  };
}

/** RATE_LIMITED, with the wait in extensions and, over HTTP, as 429 with Retry-After. */
function rateLimitedError(message: string, retryAfterSeconds: number) {
  return createGraphQLError(message, {
    extensions: {
      code: RATE_LIMITED,
      retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
    },
  });
}

/**
 * The client's address: the peer, or with TRUST_PROXY_HOPS = n behind n proxies that each
 * append to X-Forwarded-For, the address the outermost of them saw (what a client puts in the
 * header itself lies further left and is ignored).
 */
export function clientAddress(request: IncomingMessage, trustedHops: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedHops === 0) return peer;
  const forwarded = (request.headers['x-forwarded-for']?.toString() ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
  const chain = [...forwarded, peer];
  return chain[Math.max(0, chain.length - 1 - trustedHops)]!;
}

/**
 * How many root fields an operation runs: each is one unit of its limit, a batch
 * (sendNotifications) one per input.
 */
function rootFields(
  operation: OperationDefinitionNode,
  document: DocumentNode,
  variableValues: Record<string, unknown> | null | undefined,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const seen = new Set<string>();
  const count = (selections: SelectionSetNode): number =>
    selections.selections.reduce((total, selection) => {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__typename') return total;
        return total + batchSize(selection, operation, variableValues);
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) return total + count(selection.selectionSet);
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) return total;
      seen.add(fragment.name.value);
      return total + count(fragment.selectionSet);
    }, 0);
  return count(operation.selectionSet);
}
