import type { GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_TOO_COMPLEX } from '../src/api/limits.js';
import { RATE_LIMITED } from '../src/api/rate-limits.js';
import { userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Issue 9, item 16: a list costs as many times as the items it asks for, however the size is
// written, and queries and subscription starts are rate-limited as mutations are.

type Result = { data?: unknown; errors?: readonly GraphQLFormattedError[] };

/** Runs one operation over graphql-ws; resolves with its last result or its errors. */
function overSocket(client: Client, query: string, variables?: Record<string, unknown>) {
  return new Promise<Result>((resolve) => {
    let result: Result = {};
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = value as Result),
        error: (errors) => resolve({ errors: errors as GraphQLFormattedError[] }),
        complete: () => resolve(result),
      },
    );
  });
}

/** `count` aliases of unseenNotifications, each sized by `size` (a literal or a variable). */
const aliases = (count: number, size: string, fields = 'id') =>
  Array.from(
    { length: count },
    (_, i) => `a${i}: unseenNotifications(limit: ${size}) { ${fields} }`,
  ).join('\n');

const expectTooComplex = (result: Result) => {
  expect(result.data ?? undefined).toBeUndefined();
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: QUERY_TOO_COMPLEX, limit: 'cost' });
};

describe('the cost of lists, at the default MAX_QUERY_COST', () => {
  let server: TestServer;
  let socket: Client;
  beforeAll(async () => {
    server = await startTestServer();
    socket = await userSocket(server, 'carla');
  });
  afterAll(() => server.stop());

  const flood = {
    inline: [`{ ${aliases(15, '1000')} }`, {}],
    variable: [`query Flood($size: Int) { ${aliases(15, '$size')} }`, { size: 1000 }],
    'variable default': [`query Flood($n: Int = 1000) { ${aliases(15, '$n')} }`, {}],
  } as const;

  it.each(Object.entries(flood))(
    'refuses 15 aliases of unseenNotifications(limit: 1000), size %s, over HTTP',
    async (_how, [query, variables]) => {
      expectTooComplex(await server.request(query, variables, 'carla'));
    },
  );

  it.each(Object.entries(flood))(
    'refuses 15 aliases of unseenNotifications(limit: 1000), size %s, over graphql-ws',
    async (_how, [query, variables]) => {
      expectTooComplex(await overSocket(socket, query, variables));
    },
  );

  it('lets the same aliases through when each asks for a few', async () => {
    const query = `query Few($size: Int) { ${aliases(15, '$size')} }`;
    expect((await server.request(query, { size: 5 }, 'carla')).errors).toBeUndefined();
    expect((await overSocket(socket, query, { size: 5 })).errors).toBeUndefined();
    expect((await server.request(`{ ${aliases(15, '5')} }`, {}, 'carla')).errors).toBeUndefined();
  });

  it('lets an inbox of the largest size through', async () => {
    const fields = 'id category priority title body createdAt expiresAt requireAck public seenAt';
    const result = await server.request(
      `query Inbox($limit: Int) { unseenNotifications(limit: $limit) { ${fields} } unseenCount }`,
      { limit: 1000 },
      'carla',
    );
    expect(result.errors).toBeUndefined();
  });
});

describe('query and subscription-start rate limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { RATE_LIMIT_QUERIES_PER_USER: '5' } });
  });
  afterAll(() => server.stop());

  const expectRateLimited = (result: Result) => {
    expect(result.errors).toHaveLength(1);
    const extensions = result.errors![0]!.extensions!;
    expect(extensions.code).toBe(RATE_LIMITED);
    expect(extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(extensions.retryAfterSeconds).toBeLessThanOrEqual(60);
  };

  it('refuses a flood of queries over HTTP with 429 and retryAfterSeconds', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await server.request('{ unseenCount }', {}, 'dora'));
    expect(results.slice(0, 5).map((result) => result.errors)).toEqual(Array(5).fill(undefined));
    expect(results[5]!.status).toBe(429);
    expectRateLimited(results[5]!);
    // Each user counts on their own.
    expect((await server.request('{ unseenCount }', {}, 'emil')).errors).toBeUndefined();
  });

  it('counts every root field, so aliases do not multiply the allowance', async () => {
    expectRateLimited(
      await server.request(
        'query { a: unseenCount b: unseenCount c: eventCursor d: unseenCount e: unseenCount f: unseenCount }',
        {},
        'fay',
      ),
    );
  });

  it('counts queries over graphql-ws against the same limit, and refuses subscriptions over it', async () => {
    const socket = await userSocket(server, 'gus');
    for (let i = 0; i < 4; i++) {
      expect((await overSocket(socket, 'query Count { n: unseenCount }')).errors).toBeUndefined();
    }
    expect((await server.request('{ unseenCount }', {}, 'gus')).errors).toBeUndefined();
    expectRateLimited(await overSocket(socket, 'subscription { myNotifications { type } }'));
    expectRateLimited(await overSocket(socket, '{ unseenCount }'));
  });

  it('counts each subscription start', async () => {
    const socket = await userSocket(server, 'ivy');
    const refusals: Result[] = [];
    // The five within the limit start silently; one of the six, whichever came last, is refused.
    const refused = new Promise<Result>((resolve) => {
      for (let i = 0; i < 6; i++) {
        socket.subscribe(
          { query: `subscription Live${i} { myNotifications { type } }` },
          {
            // A refusal comes as a result with errors, or as an error.
            next: (result) => {
              refusals.push(result as Result);
              resolve(refusals[0]!);
            },
            error: (errors) => {
              refusals.push({ errors: errors as GraphQLFormattedError[] });
              resolve(refusals[0]!);
            },
            complete: () => {},
          },
        );
      }
    });
    expectRateLimited(await refused);
    expect(refusals).toHaveLength(1);
  });
});
