import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpectedError } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/postgres-errors.js';
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
