import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpectedError } from 'graphql-yoga';
import { DomainError } from '../errors.js';
import { AuthenticationError } from '../auth/viewer.js';
import type { Logger } from '../logger.js';

const HTTP_STATUS: Record<string, number> = { UNAUTHENTICATED: 401 };

/**
 * Domain and authentication errors reach clients with their code; anything else is masked for
 * the client and logged whole for the operator.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const original = rootCause(error);
    if (original instanceof DomainError) {
      return toGraphQLError(error, original.code, original.message);
    }
    if (original instanceof AuthenticationError) {
      return toGraphQLError(error, 'UNAUTHENTICATED', original.message);
    }
    // GraphQL's own errors (syntax, validation) are the client's to see; the rest are bugs.
    if (original instanceof Error && original.name !== 'GraphQLError') {
      logger.error({ err: original }, 'unexpected error');
    }
    return maskUnexpectedError(error, message, isDev);
  };
}

function toGraphQLError(error: unknown, code: string, message: string): GraphQLError {
  const source = error as Partial<GraphQLError>;
  return createGraphQLError(message, {
    nodes: source?.nodes,
    path: source?.path,
    extensions: { code, ...(HTTP_STATUS[code] ? { http: { status: HTTP_STATUS[code] } } : {}) },
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
