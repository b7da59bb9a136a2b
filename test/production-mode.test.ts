import type { GraphQLFormattedError } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTROSPECTION_DISABLED } from '../src/api/introspection.js';
import { loadConfig } from '../src/config.js';
import { ADMIN, userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// NODE_ENV=production: no GraphiQL, no introspection and no field suggestions unless enabled,
// unexpected errors masked without details, CORS only for configured origins, and security
// headers on every response. Development keeps the conveniences, which proves each switch.

const INTROSPECTION = '{ __schema { queryType { name } } }';
const TYPE_INTROSPECTION = '{ __type(name: "Notification") { fields { name } } }';

const graphiqlPage = (server: TestServer) =>
  fetch(server.url, { headers: { accept: 'text/html' } });

const preflight = (server: TestServer, origin: string) =>
  fetch(server.url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
  });

const postFrom = (server: TestServer, origin: string) =>
  fetch(server.url, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ viewer { kind } }' }),
  });

/** Makes `templates` fail unexpectedly: its table is gone. */
async function dropTemplates(server: TestServer) {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    await client.query('DROP TABLE "Template"');
  } finally {
    await client.end();
  }
}

function overSocket(server: TestServer, query: string) {
  return userSocket(server, 'alice').then(
    (client) =>
      new Promise<{ data?: unknown; errors?: readonly GraphQLFormattedError[] }>((resolve) => {
        client.subscribe(
          { query },
          {
            next: (value) => resolve(value as { data?: unknown }),
            error: (errors) => resolve({ errors: errors as GraphQLFormattedError[] }),
            complete: () => {},
          },
        );
      }),
  );
}

describe('configuration', () => {
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://app@db.internal/notifications',
    JWT_SECRET: 'x'.repeat(32),
  };

  it('turns GraphiQL, introspection and CORS for any origin on outside production only', () => {
    expect(loadConfig({})).toMatchObject({
      GRAPHIQL: true,
      INTROSPECTION: true,
      CORS_ORIGINS: ['*'],
    });
    expect(loadConfig(production)).toMatchObject({
      GRAPHIQL: false,
      INTROSPECTION: false,
      CORS_ORIGINS: [],
    });
    expect(
      loadConfig({
        ...production,
        GRAPHIQL: 'true',
        INTROSPECTION: 'true',
        CORS_ORIGINS: 'https://app.example/, http://localhost:3000',
      }),
    ).toMatchObject({
      GRAPHIQL: true,
      INTROSPECTION: true,
      CORS_ORIGINS: ['https://app.example', 'http://localhost:3000'],
    });
    expect(loadConfig({ GRAPHIQL: 'false' }).GRAPHIQL).toBe(false);
  });
});

describe('in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { NODE_ENV: 'production' } });
  });
  afterAll(() => server.stop());

  it('serves no GraphiQL page', async () => {
    const response = await graphiqlPage(server);
    expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await response.text()).not.toMatch(/graphiql/i);
  });

  it.each([
    ['__schema', INTROSPECTION],
    ['__type', TYPE_INTROSPECTION],
  ])('refuses %s introspection over HTTP with INTROSPECTION_DISABLED', async (_name, query) => {
    const result = await server.request(query);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.extensions?.code).toBe(INTROSPECTION_DISABLED);
  });

  it('refuses introspection over graphql-ws too', async () => {
    const result = await overSocket(server, INTROSPECTION);
    expect(result.errors?.[0]?.extensions?.code).toBe(INTROSPECTION_DISABLED);
  });

  it('answers __typename, which is not introspection of the schema', async () => {
    expect((await server.request('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('suggests no field names in validation errors', async () => {
    const result = await server.request('{ viewr { kind } }');
    expect(result.errors?.[0]?.message).toMatch(/Cannot query field "viewr"/);
    expect(result.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('masks an unexpected error and gives no details of it', async () => {
    await dropTemplates(server);
    const result = await server.request('{ templates { key } }', {}, ADMIN);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.message).toBe('Unexpected error.');
    expect(JSON.stringify(result)).not.toMatch(
      /relation|does not exist|prisma|stack|originalError/i,
    );
  });

  it('sends no CORS headers when CORS_ORIGINS is not set', async () => {
    const response = await preflight(server, 'https://app.example');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const post = await postFrom(server, 'https://app.example');
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each([
    ['the GraphQL endpoint', '/graphql', 'POST'],
    ['the health check', '/healthz', 'GET'],
    ['an unknown path', '/nothing-here', 'GET'],
  ])('sets the security headers, HSTS included, on %s', async (_name, path, method) => {
    const response = await fetch(new URL(path, server.url), {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST' && { body: JSON.stringify({ query: '{ __typename }' }) }),
    });
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
    });
  });
});

describe('in production with GRAPHIQL, INTROSPECTION and CORS_ORIGINS set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        NODE_ENV: 'production',
        GRAPHIQL: 'true',
        INTROSPECTION: 'true',
        CORS_ORIGINS: 'https://app.example, https://admin.example/',
      },
    });
  });
  afterAll(() => server.stop());

  it('serves GraphiQL under a policy that allows its own script and this service only', async () => {
    const response = await graphiqlPage(server);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/graphiql/i);
    expect(response.headers.get('content-security-policy')).toMatch(
      new RegExp(
        "^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'unsafe-inline'; " +
          "img-src data:; font-src data:; worker-src blob:; connect-src 'self'; " +
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'$",
      ),
    );
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('answers introspection', async () => {
    expect((await server.request(INTROSPECTION)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });

  it.each(['https://app.example', 'https://admin.example'])(
    'allows the listed origin %s',
    async (origin) => {
      const response = await preflight(server, origin);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      const post = await postFrom(server, origin);
      expect(post.headers.get('access-control-allow-origin')).toBe(origin);
      expect(post.headers.get('vary')).toMatch(/origin/i);
    },
  );

  it.each(['https://evil.example', 'null', 'https://app.example.evil.example'])(
    'sends no CORS headers to the unlisted origin %s',
    async (origin) => {
      const response = await preflight(server, origin);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      const post = await postFrom(server, origin);
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
    },
  );
});

describe('in development', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { NODE_ENV: 'development' } });
  });
  afterAll(() => server.stop());

  it('serves GraphiQL and answers introspection', async () => {
    const page = await graphiqlPage(server);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await server.request(INTROSPECTION)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });

  it('suggests field names', async () => {
    const result = await server.request('{ viewr { kind } }');
    expect(result.errors?.[0]?.message).toMatch(/Did you mean "viewer"/);
  });

  it('allows any origin', async () => {
    const response = await preflight(server, 'https://anywhere.example');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://anywhere.example');
  });

  it('masks an unexpected error but shows its details to the developer', async () => {
    await dropTemplates(server);
    const result = await server.request('{ templates { key } }', {}, ADMIN);
    expect(result.errors![0]!.message).toBe('Unexpected error.');
    expect(JSON.stringify(result.errors![0]!.extensions)).toMatch(/does not exist/);
  });

  it('sends the security headers but not HSTS, which would pin localhost to HTTPS', async () => {
    const response = await fetch(new URL('/healthz', server.url));
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});
