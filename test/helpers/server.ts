import {
  createClient,
  type Client,
  type FormattedExecutionResult as ExecutionResult,
} from 'graphql-ws';
import WebSocket from 'ws';
import { buildApp, type App } from '../../src/app.js';
import { mintUserToken, type MintOptions } from '../../src/auth/user-tokens.js';
import { loadConfig } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256';
export const TEST_API_KEY = 'test-service-key-0123456789';

export interface TestServer {
  app: App;
  /** http://localhost:<port>/graphql */
  url: string;
  wsUrl: string;
  databaseUrl: string;
  token(userId: string, options?: MintOptions): Promise<string>;
  /** A POST to /graphql; `auth` is a user id (a token is minted), `{ apiKey }`, or nothing. */
  request<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    auth?: Auth,
  ): Promise<ExecutionResult<T> & { status: number }>;
  /** A graphql-ws client that does not retry, closed when the server stops. */
  wsClient(
    connectionParams?: Record<string, unknown>,
    options?: { onClose?: (event: CloseEvent) => void },
  ): Client;
  stop(): Promise<void>;
}

export type Auth =
  | string
  | { userId: string; admin?: boolean }
  | { apiKey: string }
  | { headers: Record<string, string> };
type CloseEvent = { code: number; reason: string };

export interface TestServerOptions {
  /** Environment overrides, as the variables would be set. */
  env?: Record<string, string>;
  /** Reuse a database (e.g. for a second instance); otherwise a fresh one is made and dropped. */
  database?: TestDatabase | { url: string };
  /** Receives every log line as parsed JSON (LOG_LEVEL applies). */
  onLog?: (line: Record<string, unknown>) => void;
}

/** Starts the real app on port 0 against a migrated, private PostgreSQL database. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownDatabase = options.database ? undefined : await createTestDatabase();
  const databaseUrl = (options.database ?? ownDatabase)!.url;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    SERVICE_API_KEYS: TEST_API_KEY,
    DATABASE_URL: databaseUrl,
    ...options.env,
  });
  const onLog = options.onLog;
  const logger = createLogger(
    config.LOG_LEVEL,
    onLog && { write: (line: string) => onLog(JSON.parse(line) as Record<string, unknown>) },
  );
  await applyMigrations(databaseUrl, logger);
  const app = buildApp({ config, logger, databaseUrl });
  const url = await app.start(0);
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];

  const headersFor = async (auth: Auth | undefined): Promise<Record<string, string>> => {
    if (auth === undefined) return {};
    if (typeof auth === 'string') return { authorization: `Bearer ${await token(auth)}` };
    if ('apiKey' in auth) return { 'x-api-key': auth.apiKey };
    if ('headers' in auth) return auth.headers;
    return { authorization: `Bearer ${await token(auth.userId, { admin: auth.admin })}` };
  };
  const token = (userId: string, mintOptions?: MintOptions) =>
    mintUserToken(TEST_JWT_SECRET, userId, mintOptions);

  return {
    app,
    url,
    wsUrl,
    databaseUrl,
    token,
    async request(query, variables, auth) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await headersFor(auth)) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as ExecutionResult<never>) };
    },
    wsClient(connectionParams, clientOptions) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams,
        on: {
          closed: (event) => clientOptions?.onClose?.(event as CloseEvent),
        },
        onNonLazyError: () => {},
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await app.stop();
      await ownDatabase?.drop();
    },
  };
}
