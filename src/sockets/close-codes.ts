// Every close code a client of the socket may see: what it means and what the client should do.
// The README's table reads from here; packages/client ships a copy, which
// test/client-package.test.ts keeps equal. Codes 4400-4499 and 4500 that graphql-ws defines keep
// graphql-ws's meaning; ours are numbers it does not use.

export interface CloseCode {
  code: number;
  /** Who defines it: the WebSocket protocol, graphql-ws, or this service. */
  owner: 'WebSocket' | 'graphql-ws' | 'service';
  meaning: string;
  /** What a client should do. */
  retry: string;
  /** Whether graphql-ws's own client reconnects by itself after it (with retryAttempts). */
  clientRetries: boolean;
}

export const CLOSE = {
  goingAway: {
    code: 1001,
    owner: 'WebSocket',
    meaning: 'the instance is shutting down',
    retry: 'reconnect at once (another instance answers) and resume from your cursor',
    clientRetries: true,
  },
  messageTooBig: {
    code: 1009,
    owner: 'WebSocket',
    meaning: 'a message was over `WS_MAX_PAYLOAD_BYTES`',
    retry: 'do not resend it: send smaller operations',
    clientRetries: false,
  },
  tryAgainLater: {
    code: 1013,
    owner: 'WebSocket',
    meaning: 'the database is away for a moment',
    retry: 'reconnect after a back-off',
    clientRetries: true,
  },
  badRequest: {
    code: 4400,
    owner: 'graphql-ws',
    meaning: 'a message the protocol does not allow here (e.g. one only a server sends)',
    retry: 'final: fix the client',
    clientRetries: false,
  },
  unauthorized: {
    code: 4401,
    owner: 'graphql-ws',
    meaning: 'the credentials were refused, have expired, or the API key was revoked',
    retry: 'final for these credentials: get new ones, then connect again',
    clientRetries: false,
  },
  forbidden: {
    code: 4403,
    owner: 'graphql-ws',
    meaning: 'the connection was refused for another reason (graphql-ws: forbidden)',
    retry: 'reconnect after a back-off',
    clientRetries: true,
  },
  subprotocolNotAcceptable: {
    code: 4406,
    owner: 'graphql-ws',
    meaning: 'the socket did not ask for the `graphql-transport-ws` subprotocol',
    retry: 'final: use a graphql-transport-ws client',
    clientRetries: false,
  },
  connectionInitTimeout: {
    code: 4408,
    owner: 'graphql-ws',
    meaning: 'no `connection_init` within `WS_CONNECTION_INIT_TIMEOUT_MS`',
    retry: 'reconnect and send `connection_init` at once',
    clientRetries: true,
  },
  subscriberAlreadyExists: {
    code: 4409,
    owner: 'graphql-ws',
    meaning: 'an operation id already running on this socket was used again',
    retry: 'final: fix the client',
    clientRetries: false,
  },
  slowConsumer: {
    code: 4413,
    owner: 'service',
    meaning: 'the client stopped reading what it is sent (`MAX_SOCKET_BUFFER_BYTES`)',
    retry: 'reconnect and resume from your cursor',
    clientRetries: true,
  },
  tooManyInitialisationRequests: {
    code: 4429,
    owner: 'graphql-ws',
    meaning: 'a second `connection_init` on one socket',
    retry: 'final: fix the client',
    clientRetries: false,
  },
  rateLimited: {
    code: 4430,
    owner: 'service',
    meaning: 'too many connection attempts (`RATE_LIMIT_CONNECTIONS_*`)',
    retry: 'reconnect after the seconds the reason ends with ("retry after <n> s")',
    clientRetries: true,
  },
  tooManyConnections: {
    code: 4431,
    owner: 'service',
    meaning:
      'the user has `MAX_CONNECTIONS_PER_USER` connections open already (sockets and SSE ' +
      'subscriptions), or the address has `WS_MAX_ANONYMOUS_PER_IP` anonymous sockets',
    retry: 'reconnect after a back-off (or close another connection first)',
    clientRetries: true,
  },
  anonymousTimeout: {
    code: 4432,
    owner: 'service',
    meaning: 'an anonymous socket sent no authenticated operation within `WS_ANONYMOUS_TIMEOUT_MS`',
    retry: 'reconnect when you have an operation to send, with credentials',
    clientRetries: true,
  },
  internalServerError: {
    code: 4500,
    owner: 'graphql-ws',
    meaning: 'the server failed unexpectedly',
    retry: 'final for graphql-ws clients; report it',
    clientRetries: false,
  },
} as const satisfies Record<string, CloseCode>;

export type CloseName = keyof typeof CLOSE;
