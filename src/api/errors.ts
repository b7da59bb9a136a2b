import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpectedError } from 'graphql-yoga';
import { DomainError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  SERVICE_UNAVAILABLE: 503,
};
/** Seconds a client should wait before retrying an operation that met a database outage. */
export const RETRY_AFTER_SECONDS = 1;

/** What a client is told of an expected failure: a code to switch on and a safe message. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/**
 * The one mapping from errors to codes, for HTTP (the masker below) and graphql-ws (a refused
 * connect or operation) alike: domain and authentication errors keep their code, a lost
 * database is a retriable SERVICE_UNAVAILABLE; undefined for an error that is a bug.
 */
export function refusalFor(error: unknown): Refusal | undefined {
  const original = rootCause(error);
  if (original instanceof DomainError) return { code: original.code, message: original.message };
  if (isDatabaseUnavailable(original)) {
    return {
      code: 'SERVICE_UNAVAILABLE',
      message: 'the service is temporarily unavailable; try again shortly',
    };
  }
  return undefined;
}

/**
 * Expected errors reach clients with their code (a lost database as HTTP 503); anything else is
 * masked for the client and logged whole for the operator.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const refusal = refusalFor(error);
    if (refusal?.code === 'SERVICE_UNAVAILABLE') {
      // Expected while PostgreSQL restarts or fails over: the client retries, nothing to fix.
      logger.warn({ err: rootCause(error) }, 'database unavailable');
    }
    if (refusal) return toGraphQLError(error, refusal.code, refusal.message);
    if (error instanceof SyntaxError) {
      // Thrown bare, not wrapped with a path: Yoga's request parser met JSON it could not read
      // (a GET's `variables` or `extensions`). The client's mistake, not ours.
      return toGraphQLError(
        error,
        'BAD_REQUEST',
        `the request is not valid JSON: ${error.message}`,
      );
    }
    // GraphQL's own errors (syntax, validation) are the client's to see; the rest are bugs.
    const original = rootCause(error);
    if (original instanceof Error && original.name !== 'GraphQLError') {
      logger.error({ err: original }, 'unexpected error');
    }
    return withCode(maskUnexpectedError(error, message, isDev));
  };
}

/**
 * Every error a client sees has a code to switch on. graphql-js leaves some without: variable
 * values that do not fit their type, directive arguments found missing only at execution. Those
 * without a path are about the request (BAD_USER_INPUT); one with a path came out of executing a
 * field, which the code above has not recognised as anything expected (INTERNAL_SERVER_ERROR).
 */
function withCode(error: Error): Error {
  if (error.name !== 'GraphQLError') return error;
  const { path } = error as GraphQLError;
  return withErrorCode(error as GraphQLError, path ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT');
}

/**
 * `error` with `extensions.code = code` unless it has a code already: for errors that reach a
 * client by a way that does not pass the masker (graphql-ws's onSubscribe answers parse and
 * validation errors itself).
 */
export function withErrorCode(error: GraphQLError, code: ErrorCode): GraphQLError {
  if (typeof error.extensions?.code === 'string') return error;
  return createGraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, code },
  });
}

function toGraphQLError(error: unknown, code: ErrorCode, message: string): GraphQLError {
  const source = error as Partial<GraphQLError>;
  const status = HTTP_STATUS[code];
  const headers =
    code === 'SERVICE_UNAVAILABLE' ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : undefined;
  return createGraphQLError(message, {
    nodes: source?.nodes,
    path: source?.path,
    extensions: { code, ...(status ? { http: { status, ...(headers && { headers }) } } : {}) },
  });
}

/**
 * GraphQL wraps what a resolver throws. Checked by shape, not class: graphql's CommonJS and ESM
 * builds can both be loaded, and each has its own GraphQLError.
 */
function rootCause(error: unknown): unknown {
  let cause = error;
  while (hasOriginalError(cause)) cause = cause.originalError;
  return cause;
}

const hasOriginalError = (error: unknown): error is { originalError: unknown } =>
  typeof error === 'object' && error !== null && 'originalError' in error && !!error.originalError;

/**
 * Prisma's codes for a database that cannot be reached or dropped the connection: can't reach
 * (P1001), timed out (P1002, P1008), connection closed (P1017), no pooled connection in time
 * (P2024), transaction could not start or was lost in time (P2028), too many connections (P2037).
 */
const UNAVAILABLE_PRISMA_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'P2028',
  'P2037',
]);
/** What @prisma/adapter-pg calls the same conditions in a DriverAdapterError's cause. */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/**
 * PostgreSQL SQLSTATEs of a server going away or not accepting work yet: connection exceptions
 * (class 08), admin or crash shutdown and "starting up" (57P01-57P03), too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;
/** Node's socket errors for a peer that is gone or unreachable. */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** node-postgres throws these as plain Errors, which the adapter passes on unconverted. */
const UNAVAILABLE_DRIVER_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * True when `error` (or what it wraps: `cause`, Prisma's `meta.driverAdapterError`, an
 * AggregateError's `errors`) says the database is unreachable or dropped the connection: a
 * condition that passes by itself, so worth a retry. Recognised by shape, since the classes
 * live in Prisma's runtime, the adapter and node-postgres.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== 'object' || value === null || depth > 6 || seen.has(value)) return false;
    seen.add(value);
    const candidate = value as {
      code?: unknown;
      kind?: unknown;
      message?: unknown;
      name?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
      errors?: unknown;
      originalError?: unknown;
    };
    const { code, kind, message } = candidate;
    if (typeof code === 'string') {
      if (UNAVAILABLE_PRISMA_CODES.has(code)) return true;
      if (UNAVAILABLE_SOCKET_CODES.has(code)) return true;
      // A SQLSTATE, on a node-postgres error or an adapter cause of kind "postgres".
      if ((kind === 'postgres' || 'severity' in candidate) && UNAVAILABLE_SQLSTATE.test(code)) {
        return true;
      }
    }
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
    if (typeof message === 'string' && candidate.name !== 'GraphQLError') {
      if (UNAVAILABLE_DRIVER_MESSAGE.test(message)) return true;
    }
    const nested = [
      candidate.originalError,
      candidate.cause,
      candidate.meta?.driverAdapterError,
      ...(Array.isArray(candidate.errors) ? (candidate.errors as unknown[]) : []),
    ];
    return nested.some((inner) => visit(inner, depth + 1));
  };
  return visit(error, 0);
}
