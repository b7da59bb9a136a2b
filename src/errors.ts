/**
 * Every code a client can switch on (GraphQL `extensions.code`), over HTTP and graphql-ws alike,
 * with what it means. The README's table of error codes is this table (test/error-codes.test.ts
 * checks): add a code here and there together.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: 'no credentials, or they were refused or have expired',
  FORBIDDEN: 'not allowed for this caller',
  NOT_FOUND:
    'no such notification (or template) for this caller, or a repeated send whose first was deleted',
  BAD_USER_INPUT: 'an argument or variable that does not fit (its message says which)',
  UNKNOWN_CATEGORY: 'a category that does not exist was named',
  CATEGORY_IN_USE:
    'a category that still has notifications cannot be deleted: delete them, or wait for their `deleteAt`',
  ACKNOWLEDGEMENT_REQUIRED:
    'the notification asks for an acknowledgement it has not had yet: `acknowledge` it first',
  TOPIC_MEMBER_LIMIT:
    'adding these members would take the topic over `TOPIC_MAX_MEMBERS` (100,000 by default): nothing was added',
  NOTIFICATION_EXPIRED:
    'the notification has expired and can no longer be updated (`recallNotification` still deletes it)',
  ALREADY_DELIVERED:
    'a scheduled send was delivered already and cannot be cancelled: `recallNotification` deletes it',
  SERVICE_UNAVAILABLE: 'the database is unreachable: retry later (over HTTP 503 and `Retry-After`)',
  TOO_MANY_CONNECTIONS:
    'over `MAX_CONNECTIONS_PER_USER` sockets and SSE subscriptions together, or `WS_MAX_ANONYMOUS_PER_IP`',
  CURSOR_EXPIRED: '`myNotifications(after:)` is older than the kept event log: reload the inbox',
  RATE_LIMITED:
    'over a rate limit: wait `extensions.retryAfterSeconds` (over HTTP 429 and `Retry-After`)',
  QUERY_TOO_COMPLEX:
    'over a query limit: `extensions.limit` is `depth`, `aliases`, `cost`, `tokens` or `directives`',
  TOO_MANY_SUBSCRIPTIONS: 'too many operations at once on one socket (it stays open)',
  PAYLOAD_TOO_LARGE: 'an HTTP body over `MAX_REQUEST_BYTES` (HTTP 413)',
  INTROSPECTION_DISABLED: '`__schema` or `__type` asked where introspection is off',
  BAD_REQUEST: 'the request is not valid JSON (HTTP 400)',
  GRAPHQL_PARSE_FAILED: 'the operation is not valid GraphQL syntax',
  GRAPHQL_VALIDATION_FAILED: 'the operation does not fit the schema',
  INTERNAL_SERVER_ERROR: 'an unexpected error: logged for the operator, masked for the client',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure: the API reports it with its code and message, and logs nothing. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
