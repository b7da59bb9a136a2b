import { isDatabaseUnavailable } from '../api/errors.js';
import { DomainError, type ErrorCode } from '../errors.js';
import { CLOSE } from './close-codes.js';

// One mapping for a socket's refusals, so a connect and an operation refused for the same
// reason tell the client the same thing: the operation's `extensions.code`, the connect's close.

export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** What a client is told for `error`, or undefined for an error that is a bug. */
export function refusalFor(error: unknown): Refusal | undefined {
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  if (isDatabaseUnavailable(error)) {
    return {
      code: 'SERVICE_UNAVAILABLE',
      message: 'the service is temporarily unavailable; try again shortly',
    };
  }
  return undefined;
}

/** The close code for a connect refused with `code`. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return CLOSE.unauthorized.code;
    case 'TOO_MANY_CONNECTIONS':
      return CLOSE.tooManyConnections.code;
    case 'SERVICE_UNAVAILABLE':
      // Not 4500: graphql-ws clients take that as final and stop reconnecting.
      return CLOSE.tryAgainLater.code;
    default:
      return CLOSE.forbidden.code;
  }
}
