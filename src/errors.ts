/**
 * The codes a client can switch on (GraphQL `extensions.code`). The domain throws DomainError;
 * the API layer turns it into a GraphQL error with that code, and masks every other error.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'UNKNOWN_CATEGORY'
  | 'SERVICE_UNAVAILABLE'
  /** Over MAX_CONNECTIONS_PER_USER (sockets and SSE subscriptions together). */
  | 'TOO_MANY_CONNECTIONS'
  /** The cursor is older than the kept event log: reload the snapshot. */
  | 'CURSOR_EXPIRED';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
