import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpectedError } from 'graphql-yoga';
import { DomainError } from '../errors.js';
import { AuthenticationError } from '../auth/viewer.js';

const HTTP_STATUS: Record<string, number> = { UNAUTHENTICATED: 401 };

/** Domain and authentication errors reach clients with their code; anything else is masked. */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof DomainError)
    return toGraphQLError(error, original.code, original.message);
  if (original instanceof AuthenticationError)
    return toGraphQLError(error, 'UNAUTHENTICATED', original.message);
  return maskUnexpectedError(error, message, isDev);
}

function toGraphQLError(error: unknown, code: string, message: string): GraphQLError {
  const source = error instanceof GraphQLError ? error : undefined;
  return createGraphQLError(message, {
    nodes: source?.nodes,
    path: source?.path,
    extensions: { code, ...(HTTP_STATUS[code] ? { http: { status: HTTP_STATUS[code] } } : {}) },
  });
}
