import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarkAllSeenDocument } from '../client/graphql.js';
import { CLOSE } from '../src/sockets/close-codes.js';
import { RATE_LIMITED } from '../src/api/rate-limits.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { loadConfig } from '../src/config.js';
import { TEST_REDIS_URL, pairForTests } from './helpers/cluster.js';
import { ADMIN, connectAs, run, upsertCategory } from './helpers/operations.js';
import { RedisProcess } from './helpers/redis-process.js';
import { TEST_API_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { sleep } from './helpers/wait.js';

// Mutations per user and per API key, connection attempts per user and per IP: over the limit,
// RATE_LIMITED with the seconds to wait (HTTP: 429 and Retry-After; graphql-ws: close code 4430),
// counted in Redis so that the limits hold across instances.

const markAllSeen = (server: TestServer, userId: string) =>
  run(server, MarkAllSeenDocument, {}, userId);

const sendAs = (server: TestServer, apiKey: string, title: string) =>
  server.request(
    `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { recipientCount } }`,
    { input: { category: 'info', recipientIds: ['someone'], title } },
    { apiKey },
  );

function expectRateLimited(
  result: { status?: number; errors?: readonly GraphQLFormattedError[] },
  windowSeconds: number,
) {
  expect(result.errors).toHaveLength(1);
  const extensions = result.errors![0]!.extensions!;
  expect(extensions.code).toBe(RATE_LIMITED);
  expect(extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(extensions.retryAfterSeconds).toBeLessThanOrEqual(windowSeconds);
}

/** Resolves with how a graphql-ws connection attempt ended: acknowledged or closed. */
function attempt(
  server: TestServer,
  connectionParams: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return new Promise<{ client: Client; closed?: { code: number; reason: string } }>((resolve) => {
    const client: Client = createClient({
      url: server.wsUrl,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols: string | string[]) {
          super(url, protocols, { headers });
        }
      },
      retryAttempts: 0,
      lazy: false,
      connectionParams,
      onNonLazyError: () => {},
      on: {
        connected: () => resolve({ client }),
        closed: (event) => resolve({ client, closed: event as { code: number; reason: string } }),
      },
    });
  });
}

describe('configuration', () => {
  it('has generous defaults, and takes 0 (no limit)', () => {
    expect(loadConfig({})).toMatchObject({
      RATE_LIMIT_MUTATIONS_PER_USER: 120,
      RATE_LIMIT_MUTATIONS_PER_API_KEY: 6000,
      RATE_LIMIT_MUTATIONS_WINDOW_SECONDS: 60,
      RATE_LIMIT_CONNECTIONS_PER_USER: 60,
      RATE_LIMIT_CONNECTIONS_PER_IP: 600,
      RATE_LIMIT_CONNECTIONS_WINDOW_SECONDS: 60,
      TRUST_PROXY_HOPS: 0,
    });
    expect(loadConfig({ RATE_LIMIT_CONNECTIONS_PER_IP: '0' }).RATE_LIMIT_CONNECTIONS_PER_IP).toBe(
      0,
    );
  });
});

describe('on one instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        RATE_LIMIT_MUTATIONS_PER_USER: '3',
        RATE_LIMIT_MUTATIONS_PER_API_KEY: '4',
        RATE_LIMIT_CONNECTIONS_PER_USER: '2',
      },
    });
    await upsertCategory(server, { name: 'info' });
  });
  afterAll(() => server.stop());

  it("refuses a user's mutations over RATE_LIMIT_MUTATIONS_PER_USER with 429, Retry-After and RATE_LIMITED", async () => {
    for (let i = 0; i < 3; i++)
      expect((await markAllSeen(server, 'ursula')).errors).toBeUndefined();
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await server.token('ursula')}`,
      },
      body: JSON.stringify({ query: 'mutation { markAllSeen }' }),
    });
    expect(response.status).toBe(429);
    const body = (await response.json()) as { errors: GraphQLFormattedError[] };
    expectRateLimited(body, 60);
    // Yoga turns extensions.http into the status and headers and leaves it out of the body.
    expect(body.errors[0]!.extensions!.http).toBeUndefined();
    expect(response.headers.get('retry-after')).toBe(
      String(body.errors[0]!.extensions!.retryAfterSeconds),
    );
  });

  it('limits each user on their own, and mutations only', async () => {
    for (let i = 0; i < 4; i++) await markAllSeen(server, 'vera');
    expectRateLimited(await markAllSeen(server, 'vera'), 60);
    // Another user is untouched, and vera may still read.
    expect((await markAllSeen(server, 'walt')).errors).toBeUndefined();
    expect((await server.request('{ unseenCount }', {}, 'vera')).data).toEqual({ unseenCount: 0 });
  });

  it('counts every root field of a mutation, so aliases do not multiply the allowance', async () => {
    const four = 'mutation { a: markAllSeen b: markAllSeen c: markAllSeen d: markAllSeen }';
    expectRateLimited(await server.request(four, {}, 'xena'), 60);
    const three = 'mutation { a: markAllSeen b: markAllSeen c: markAllSeen }';
    expect((await server.request(three, {}, 'yuri')).errors).toBeUndefined();
    expectRateLimited(await markAllSeen(server, 'yuri'), 60);
  });

  it('limits each API key by RATE_LIMIT_MUTATIONS_PER_API_KEY, apart from other keys', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await sendAs(server, TEST_API_KEY, `n${i}`)).errors).toBeUndefined();
    }
    const refused = await sendAs(server, TEST_API_KEY, 'one too many');
    expect(refused.status).toBe(429);
    expectRateLimited(refused, 60);
    const otherKey = await createApiKey(server.app.services.database, 'billing');
    expect((await sendAs(server, otherKey, 'from billing')).errors).toBeUndefined();
  });

  it('counts mutations over graphql-ws against the same limit', async () => {
    const { client } = await attempt(server, {
      authorization: `Bearer ${await server.token('zack')}`,
    });
    const overSocket = () =>
      new Promise<{ errors?: readonly GraphQLFormattedError[] }>((resolve, reject) => {
        client.subscribe(
          { query: 'mutation { markAllSeen }' },
          { next: resolve, error: reject, complete: () => {} },
        );
      });
    expect((await markAllSeen(server, 'zack')).errors).toBeUndefined();
    expect((await overSocket()).errors).toBeUndefined();
    expect((await overSocket()).errors).toBeUndefined();
    expectRateLimited(await overSocket(), 60);
    await client.dispose();
  });

  it('closes connection attempts over RATE_LIMIT_CONNECTIONS_PER_USER with 4430 and when to retry', async () => {
    expect((await connectAs(server, 'quinn')).closed()).toBeUndefined();
    expect((await connectAs(server, 'quinn')).closed()).toBeUndefined();
    const third = (await connectAs(server, 'quinn')).closed();
    expect(third?.code).toBe(CLOSE.rateLimited.code);
    expect(third?.reason).toMatch(/retry after \d+ s$/);
    // Another user connects as usual.
    expect((await connectAs(server, 'rhea')).closed()).toBeUndefined();
  });
});

describe('connection attempts per IP', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Behind one proxy: the client address is the last one in X-Forwarded-For.
    server = await startTestServer({
      env: { TRUST_PROXY_HOPS: '1', RATE_LIMIT_CONNECTIONS_PER_IP: '3' },
    });
  });
  afterAll(() => server.stop());

  const from = (ip: string, forwardedBefore = '') => ({
    'x-forwarded-for': forwardedBefore ? `${forwardedBefore}, ${ip}` : ip,
  });

  it('closes attempts over RATE_LIMIT_CONNECTIONS_PER_IP with 4430, counted before credentials are checked', async () => {
    for (const user of ['ann', 'ben', 'cal']) {
      const token = await server.token(user);
      const { closed } = await attempt(
        server,
        { authorization: `Bearer ${token}` },
        from('203.0.113.7'),
      );
      expect(closed).toBeUndefined();
    }
    // A bad token from that address is refused for the rate, not for the token.
    const fourth = await attempt(server, { authorization: 'Bearer nonsense' }, from('203.0.113.7'));
    expect(fourth.closed?.code).toBe(CLOSE.rateLimited.code);
    expect(fourth.closed?.reason).toMatch(/retry after \d+ s$/);

    // Another address is counted apart; one that a client wrote in itself is not believed.
    const other = await attempt(
      server,
      { authorization: `Bearer ${await server.token('dan')}` },
      from('203.0.113.8', '203.0.113.7'),
    );
    expect(other.closed).toBeUndefined();
    const badToken = await attempt(
      server,
      { authorization: 'Bearer nonsense' },
      from('203.0.113.9'),
    );
    expect(badToken.closed?.code).toBe(CLOSE.unauthorized.code);
  });
});

describe('the window', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { RATE_LIMIT_MUTATIONS_PER_USER: '1', RATE_LIMIT_MUTATIONS_WINDOW_SECONDS: '1' },
    });
  });
  afterAll(() => server.stop());

  it('lets the caller in again once the retry-after has passed', async () => {
    expect((await markAllSeen(server, 'ida')).errors).toBeUndefined();
    const refused = await markAllSeen(server, 'ida');
    expectRateLimited(refused, 1);
    await sleep(1100);
    expect((await markAllSeen(server, 'ida')).errors).toBeUndefined();
  });
});

describe('across instances', () => {
  const pair = pairForTests({
    env: { RATE_LIMIT_MUTATIONS_PER_USER: '4', RATE_LIMIT_CONNECTIONS_PER_USER: '2' },
  });

  it('holds the mutation limit for a user whose requests go to different instances', async () => {
    expect((await markAllSeen(pair.a, 'kai')).errors).toBeUndefined();
    expect((await markAllSeen(pair.b, 'kai')).errors).toBeUndefined();
    expect((await markAllSeen(pair.a, 'kai')).errors).toBeUndefined();
    expect((await markAllSeen(pair.b, 'kai')).errors).toBeUndefined();
    expectRateLimited(await markAllSeen(pair.a, 'kai'), 60);
    expectRateLimited(await markAllSeen(pair.b, 'kai'), 60);
  });

  it('holds the connection-attempt limit across instances', async () => {
    expect((await connectAs(pair.a, 'lia')).closed()).toBeUndefined();
    expect((await connectAs(pair.b, 'lia')).closed()).toBeUndefined();
    expect((await connectAs(pair.a, 'lia')).closed()?.code).toBe(CLOSE.rateLimited.code);
  });

  it("keeps its counters under the deployment's prefix in Redis", async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${pair.channelPrefix}rate:*`);
      expect(keys).toEqual(
        expect.arrayContaining([
          `${pair.channelPrefix}rate:mutations:user:kai`,
          `${pair.channelPrefix}rate:connections:caller:user:lia`,
        ]),
      );
    } finally {
      redis.disconnect();
    }
  });
});

describe('while Redis is away', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  // After the pair below has stopped: `afterAll` hooks run in the reverse order of registration.
  afterAll(() => redis.stop());
  const pair = pairForTests(() => ({
    redisUrl: redis.url,
    env: { RATE_LIMIT_MUTATIONS_PER_USER: '2' },
  }));

  it('accepts mutations within the limit and still refuses those over it, counting in memory', async () => {
    await redis.stop();
    expect((await markAllSeen(pair.a, 'mia')).errors).toBeUndefined();
    expect((await markAllSeen(pair.a, 'mia')).errors).toBeUndefined();
    expectRateLimited(await markAllSeen(pair.a, 'mia'), 60);
    // And an admin's mutation, its own count, goes through.
    expect((await run(pair.a, MarkAllSeenDocument, {}, ADMIN)).errors).toBeUndefined();
    await redis.start();
  });
});
