import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintUserToken, type MintOptions } from '../../src/auth/user-tokens.js';

// Shared by the tests and the bench (bench/load.ts), so it imports nothing of Vitest.

export interface ConnectUserOptions {
  /** The HS256 secret the service verifies user tokens with. */
  secret: string;
  token?: MintOptions;
  /** graphql-ws ping interval in ms; 0 (the bench) sends none. */
  keepAlive?: number;
  onClose?: (event: { code: number; reason: string }) => void;
}

/**
 * A graphql-ws client signed in as `userId`, that does not retry; resolves once the server
 * acknowledged it, fails if the server closed it first.
 */
export async function connectUser(
  wsUrl: string,
  userId: string,
  { secret, token: tokenOptions, keepAlive, onClose }: ConnectUserOptions,
): Promise<Client> {
  const token = await mintUserToken(secret, userId, tokenOptions);
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      keepAlive,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        connected: () => resolve(client),
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          onClose?.({ code, reason });
          reject(new Error(`closed with ${code} ${reason} before connection_ack`));
        },
      },
      onNonLazyError: () => {},
    });
  });
}
