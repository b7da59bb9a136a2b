import type { ErrorCode } from '../errors.js';
import { CLOSE } from './close-codes.js';

// A connect refused for a reason (refusalFor, api/errors.ts: the same mapping as HTTP's and an
// operation's) is closed with the code for it, so both tell the client the same thing.

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
