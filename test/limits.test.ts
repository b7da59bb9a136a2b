import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import {
  Kind,
  getIntrospectionQuery,
  parse,
  print,
  type DefinitionNode,
  type GraphQLFormattedError,
} from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MyNotificationsDocument } from '../client/graphql.js';
import { PAYLOAD_TOO_LARGE, QUERY_TOO_COMPLEX, TOO_MANY_SUBSCRIPTIONS } from '../src/api/limits.js';
import { ADMIN, SERVICE, subscribe, userSocket } from './helpers/operations.js';
import { loadConfig } from '../src/config.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { Stream } from './helpers/stream.js';
import { sleep } from './helpers/wait.js';

// Queries over the depth, alias, cost, token and directive limits, bodies and WebSocket messages
// over their size limits, sockets that never say hello, and one connection opening too many
// operations: each refused with a code a client can switch on, over HTTP and graphql-ws alike.

/** Runs one operation over an open graphql-ws client; resolves with its result or its errors. */
function overSocket(client: Client, query: string, variables?: Record<string, unknown>) {
  return new Promise<{ data?: unknown; errors?: readonly GraphQLFormattedError[] }>((resolve) => {
    let result: { data?: unknown; errors?: readonly GraphQLFormattedError[] } = {};
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = value as typeof result),
        error: (errors) => resolve({ errors: errors as GraphQLFormattedError[] }),
        complete: () => resolve(result),
      },
    );
  });
}

/** A raw graphql-transport-ws socket, for what the graphql-ws client will not send. */
function rawSocket(server: TestServer) {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.on('close', (code, reason) =>
      resolve({ code, reason: reason.toString(), at: Date.now() }),
    ),
  );
  const messages: { type: string }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as { type: string }));
  const opened = new Promise<number>((resolve) => socket.on('open', () => resolve(Date.now())));
  return { socket, closed, opened, messages };
}

describe('configuration', () => {
  it('has a default for every limit', () => {
    expect(loadConfig({})).toMatchObject({
      MAX_QUERY_DEPTH: 10,
      MAX_QUERY_ALIASES: 15,
      MAX_QUERY_COST: 20_000,
      MAX_QUERY_TOKENS: 1000,
      MAX_QUERY_DIRECTIVES: 50,
      MAX_REQUEST_BYTES: 1024 * 1024,
      WS_MAX_PAYLOAD_BYTES: 256 * 1024,
      WS_CONNECTION_INIT_TIMEOUT_MS: 5000,
      MAX_SUBSCRIPTIONS_PER_CONNECTION: 20,
    });
  });
});

describe('query limits at their defaults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const definitions = readdirSync(new URL('../documents', import.meta.url))
    .filter((file) => file.endsWith('.graphql'))
    .flatMap(
      (file) =>
        parse(readFileSync(new URL(`../documents/${file}`, import.meta.url), 'utf8'))
          .definitions as DefinitionNode[],
    );
  const fragments = definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map(print);
  const operations = definitions.flatMap((d) =>
    d.kind === Kind.OPERATION_DEFINITION ? [[d.name!.value, d.operation, print(d)] as const] : [],
  );

  it('has operations from documents/ to check', () => {
    expect(operations.length).toBeGreaterThan(10);
  });

  it.each(operations)('lets %s (a %s) from documents/ through', async (_name, kind, operation) => {
    const used = fragments.filter((fragment) =>
      operation.includes(`...${/fragment (\w+)/.exec(fragment)![1]}`),
    );
    const query = [operation, ...used].join('\n');
    if (kind === 'subscription') {
      // It runs until stopped: whatever it needs, it must not be refused at the start.
      const stream = new Stream(await userSocket(server, 'alice'), query, {});
      await sleep(300);
      expect(stream.error).toBeUndefined();
      stream.close();
      return;
    }
    // As an admin and as a service; whatever else they are told, no limit is hit.
    for (const auth of [ADMIN, SERVICE]) {
      const result = await server.request(query, {}, auth);
      expect(result.errors?.map((e) => e.extensions?.code) ?? []).not.toContain(QUERY_TOO_COMPLEX);
    }
  });

  it("lets GraphiQL's introspection query through", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    });
    const result = await server.request<{ __schema: { types: unknown[] } }>(query);
    expect(result.errors).toBeUndefined();
    expect(result.data!.__schema.types.length).toBeGreaterThan(10);
  });

  it('lets a full page of 100 history entries with every field through', async () => {
    const result = await server.request(
      `{ notifications(first: 100) { edges { cursor node { id category priority title body data
         icon actionUrl createdAt expiresAt deleteAt requireAck public seenAt acknowledgedAt } }
         pageInfo { hasNextPage endCursor } } }`,
      {},
      'alice',
    );
    expect(result.errors).toBeUndefined();
  });
});

describe('query limits set low', () => {
  let server: TestServer;
  let socket: Client;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        MAX_QUERY_DEPTH: '3',
        MAX_QUERY_ALIASES: '2',
        MAX_QUERY_COST: '50',
        MAX_QUERY_TOKENS: '60',
        MAX_QUERY_DIRECTIVES: '2',
      },
    });
    socket = await userSocket(server, 'alice');
  });
  afterAll(() => server.stop());

  // [limit, a query just over it, the same kind of query just within it]
  const cases = [
    [
      'depth',
      '{ notifications(first: 1) { edges { node { id } } } }',
      '{ notifications(first: 1) { nodes { id } } }',
    ],
    [
      'aliases',
      '{ a: unseenCount b: unseenCount c: unseenCount }',
      '{ a: unseenCount b: unseenCount }',
    ],
    [
      'cost',
      '{ notifications(first: 10) { nodes { id title } } }',
      '{ notifications(first: 1) { nodes { id title } } }',
    ],
    ['tokens', `{ ${'__typename '.repeat(60)}}`, `{ ${'__typename '.repeat(50)}}`],
    [
      'directives',
      '{ unseenCount @skip(if: false) @include(if: true) eventCursor @skip(if: false) }',
      '{ unseenCount @skip(if: false) eventCursor @include(if: true) }',
    ],
  ] as const;

  it.each(cases)('refuses a query over the %s limit over HTTP', async (limit, over, within) => {
    const refused = await server.request(over, {}, 'alice');
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]).toMatchObject({
      message: expect.not.stringMatching(/^Syntax Error/),
      extensions: { code: QUERY_TOO_COMPLEX, limit },
    });
    const allowed = await server.request(within, {}, 'alice');
    expect(allowed.errors).toBeUndefined();
    expect(allowed.status).toBe(200);
  });

  it.each(cases)(
    'refuses a query over the %s limit over graphql-ws',
    async (limit, over, within) => {
      const refused = await overSocket(socket, over);
      expect(refused.data).toBeUndefined();
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: QUERY_TOO_COMPLEX, limit });
      const allowed = await overSocket(socket, within);
      expect(allowed.errors).toBeUndefined();
      expect(allowed.data).toBeDefined();
    },
  );

  it('answers a syntax error over graphql-ws as an error of that operation, not a closed socket', async () => {
    let closed = false;
    const client = await userSocket(server, 'bob', () => (closed = true));
    const refused = await overSocket(client, '{ viewer { id ');
    expect(refused.errors?.[0]?.message).toMatch(/Syntax Error/);
    expect((await overSocket(client, '{ viewer { id } }')).data).toEqual({ viewer: { id: 'bob' } });
    expect(closed).toBe(false);
  });
});

describe('request and message sizes, connection set-up, operations per connection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        MAX_REQUEST_BYTES: '10000',
        WS_MAX_PAYLOAD_BYTES: '4096',
        WS_CONNECTION_INIT_TIMEOUT_MS: '400',
        MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
      },
    });
  });
  afterAll(() => server.stop());

  /** A request body of about `bytes`, padded with a comment (which counts as no token). */
  const viewerWithPadding = (bytes: number) =>
    JSON.stringify({ query: `# ${'x'.repeat(bytes)}\n{ viewer { kind } }` });

  it('answers 413 with PAYLOAD_TOO_LARGE to a body over MAX_REQUEST_BYTES', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: viewerWithPadding(20_000),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: PAYLOAD_TOO_LARGE } }],
    });
    // The server is still there for the next request.
    expect((await server.request('{ viewer { kind } }')).data).toEqual({
      viewer: { kind: 'ANONYMOUS' },
    });
  });

  it('answers a body just within MAX_REQUEST_BYTES as usual', async () => {
    const body = viewerWithPadding(9_000);
    expect(body.length).toBeLessThanOrEqual(10_000);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { kind: 'ANONYMOUS' } } });
  });

  /** A POST without Content-Length: the body arrives in chunks of `chunk` bytes. */
  const chunkedPost = (body: string, chunk = 1000) =>
    new Promise<{ status: number; connection?: string; body: unknown }>((resolve, reject) => {
      const request = httpRequest(
        server.url,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (part: string) => (text += part));
          response.on('end', () =>
            resolve({
              status: response.statusCode!,
              connection: response.headers.connection,
              body: JSON.parse(text),
            }),
          );
        },
      );
      request.on('error', reject);
      for (let at = 0; at < body.length; at += chunk) request.write(body.slice(at, at + chunk));
      request.end();
    });

  it('counts a chunked body without Content-Length as it arrives', async () => {
    const refused = await chunkedPost(viewerWithPadding(20_000));
    expect(refused.status).toBe(413);
    // The rest of that body is never read, so that connection is not used again.
    expect(refused.connection).toBe('close');
    expect(refused.body).toMatchObject({ errors: [{ extensions: { code: PAYLOAD_TOO_LARGE } }] });
    const allowed = await chunkedPost(viewerWithPadding(5_000));
    expect(allowed).toMatchObject({
      status: 200,
      body: { data: { viewer: { kind: 'ANONYMOUS' } } },
    });
  });

  it('closes a socket with 1009 when a message exceeds WS_MAX_PAYLOAD_BYTES', async () => {
    const big = rawSocket(server);
    await big.opened;
    big.socket.send(
      JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(5000) } }),
    );
    expect((await big.closed).code).toBe(1009);

    const small = rawSocket(server);
    await small.opened;
    small.socket.send(
      JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(3000) } }),
    );
    await expect.poll(() => small.messages[0]?.type).toBe('connection_ack');
    small.socket.close();
  });

  it('closes a socket that sends no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS with 4408', async () => {
    const silent = rawSocket(server);
    const openedAt = await silent.opened;
    const closed = await silent.closed;
    expect(closed.code).toBe(4408);
    // The configured 400 ms, not graphql-ws's 3 s or the default 5 s.
    expect(closed.at - openedAt).toBeGreaterThanOrEqual(300);
    expect(closed.at - openedAt).toBeLessThan(2000);
  });

  it('refuses an operation over MAX_SUBSCRIPTIONS_PER_CONNECTION with TOO_MANY_SUBSCRIPTIONS and keeps the socket open', async () => {
    let closed = false;
    const client = await userSocket(server, 'carol', () => (closed = true));
    const first = subscribe(client, MyNotificationsDocument, {});
    const second = subscribe(client, MyNotificationsDocument, {});
    const third = subscribe(client, MyNotificationsDocument, {});
    const errors = (await third.waitForError()) as GraphQLFormattedError[];
    expect(errors[0]?.extensions?.code).toBe(TOO_MANY_SUBSCRIPTIONS);
    await sleep(100);
    expect(first.error).toBeUndefined();
    expect(second.error).toBeUndefined();

    // One ends: there is room again on the same socket.
    first.close();
    await sleep(100);
    expect((await overSocket(client, '{ viewer { id } }')).data).toEqual({
      viewer: { id: 'carol' },
    });
    expect(closed).toBe(false);
    second.close();
  });
});
