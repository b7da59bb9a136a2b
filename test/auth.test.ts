import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../src/auth/api-keys.js';
import { CLOSE } from '../src/sockets/close-codes.js';
import {
  TEST_API_KEY,
  TEST_JWT_SECRET,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

const VIEWER = '{ viewer { kind id admin } }';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const sign = (claims: Record<string, unknown>, secret = TEST_JWT_SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

const badTokens: [string, () => Promise<string>][] = [
  ['malformed', async () => 'not-a-jwt'],
  ['signed with another secret', () => sign({}, 'another-secret-that-is-long-enough-too')],
  [
    'expired',
    () =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
  ],
  [
    'without a subject',
    () =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
  ],
];

describe('over HTTP', () => {
  it('takes a valid bearer token as the user it names, admin from the roles claim', async () => {
    expect((await server.request(VIEWER, {}, 'alice')).data).toEqual({
      viewer: { kind: 'USER', id: 'alice', admin: false },
    });
    expect((await server.request(VIEWER, {}, { userId: 'root', admin: true })).data).toEqual({
      viewer: { kind: 'USER', id: 'root', admin: true },
    });
  });

  it('treats a request with no credentials as anonymous', async () => {
    expect((await server.request(VIEWER)).data).toEqual({
      viewer: { kind: 'ANONYMOUS', id: null, admin: false },
    });
  });

  it.each(badTokens)('refuses a %s token with 401 and UNAUTHENTICATED', async (_name, make) => {
    const result = await server.request(
      VIEWER,
      {},
      {
        headers: { authorization: `Bearer ${await make()}` },
      },
    );
    expect(result.status).toBe(401);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an authorization header that is not a bearer token', async () => {
    const result = await server.request(VIEWER, {}, { headers: { authorization: 'Basic abc' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('takes a configured API key as a service', async () => {
    const result = await server.request(VIEWER, {}, { apiKey: TEST_API_KEY });
    expect(result.data).toEqual({ viewer: { kind: 'SERVICE', id: 'env-key-1', admin: false } });
  });

  it('takes a stored API key until it is revoked', async () => {
    const { database } = server.app.services;
    const key = await createApiKey(database, 'billing');
    expect((await server.request(VIEWER, {}, { apiKey: key })).data).toEqual({
      viewer: { kind: 'SERVICE', id: 'billing', admin: false },
    });
    expect(await revokeApiKey(database, 'billing')).toBe(true);
    const refused = await server.request(VIEWER, {}, { apiKey: key });
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown API key', async () => {
    const result = await server.request(VIEWER, {}, { apiKey: 'nsk_unknown-key-value' });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('over graphql-ws', () => {
  it('accepts a valid token in connectionParams and executes as that user', async () => {
    const client = server.wsClient({ authorization: `Bearer ${await server.token('bob')}` });
    const result = await new Promise((resolve, reject) => {
      client.subscribe({ query: VIEWER }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(result).toEqual({ data: { viewer: { kind: 'USER', id: 'bob', admin: false } } });
  });

  it.each(badTokens)('closes the socket with 4401 for a %s token', async (_name, make) => {
    const token = await make();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      server.wsClient({ authorization: `Bearer ${token}` }, { onClose: resolve });
    });
    expect(closed.code).toBe(CLOSE.unauthorized.code);
    expect(closed.reason).toMatch(/token/);
  });

  it('closes the socket with 4401 for an authorization that is not a bearer token', async () => {
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      server.wsClient({ authorization: 'Basic abc' }, { onClose: resolve });
    });
    expect(closed.code).toBe(CLOSE.unauthorized.code);
  });
});

describe('over graphql-ws, with credentials per operation (as GraphiQL sends its Headers tab)', () => {
  type Outcome = { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  // A refused operation ends with graphql-ws's error message: its payload is the errors.
  const operate = (client: ReturnType<TestServer['wsClient']>, headers: Record<string, string>) =>
    new Promise<Outcome>((resolve) => {
      client.subscribe(
        { query: VIEWER, extensions: { headers } },
        {
          next: (result) => resolve(result as Outcome),
          error: (errors) => resolve({ errors: errors as Outcome['errors'] }),
          complete: () => {},
        },
      );
    });

  it('binds an anonymous socket to the caller its first operation authenticates', async () => {
    const client = server.wsClient();
    const token = await server.token('gina');
    const first = await operate(client, { Authorization: `Bearer ${token}` });
    expect(first).toEqual({ data: { viewer: { kind: 'USER', id: 'gina', admin: false } } });
    // Later operations need no headers: the socket is gina's.
    const second = await operate(client, {});
    expect(second).toEqual({ data: { viewer: { kind: 'USER', id: 'gina', admin: false } } });
    expect(await server.app.services.database.connection.count({ where: { userId: 'gina' } })).toBe(
      1,
    );
  });

  it('refuses another caller on a bound socket, and bad credentials, by operation', async () => {
    const client = server.wsClient({ authorization: `Bearer ${await server.token('hugo')}` });
    const other = await operate(client, { authorization: `Bearer ${await server.token('ivan')}` });
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = server.wsClient();
    const bad = await operate(anonymous, { authorization: 'Bearer not-a-token' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
