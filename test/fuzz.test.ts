import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ROOT } from './helpers/process.js';
import {
  asService,
  asUser,
  connectUser,
  postGraphQL,
  startServiceProcess,
  userToken,
  type ServiceProcess,
} from './helpers/service-process.js';
import { TEST_API_KEY } from './helpers/server.js';
import { Stream } from './helpers/stream.js';

// Random input thrown at a real service process, over HTTP and over graphql-ws: syntactically
// random queries, random selections over schema.graphql with random (often wrong) arguments and
// variables, and raw WebSocket frames in any order. The process must not crash, answer 5xx, or
// close a socket as an internal error; every GraphQL error must carry an extensions.code; and
// afterwards it must still serve a send and its delivery. Fixed seed (FUZZ_SEED to change it);
// on failure fast-check prints the seed, the path and the first failing case (no shrinking: it is
// slow against a server, and the case is short anyway). Cases found before run first (HTTP_FOUND).

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 300);
/** WebSocket sessions run ten at a time: WS_BATCHES × 10 sessions in all. */
const WS_BATCHES = 30;

const schema = buildSchema(readFileSync(`${ROOT}/schema.graphql`, 'utf8'));
const FOLLOW = `subscription Follow($after: String) {
  myNotifications(after: $after) { type cursor notification { id title } }
}`;

let database: TestDatabase;
let service: ServiceProcess;
/** Credentials a case may use, minted once. */
let credentials: Record<string, Record<string, string>>;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startServiceProcess({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'error',
    // Rate limits would answer most cases with RATE_LIMITED before they reach anything deeper.
    RATE_LIMIT_MUTATIONS_PER_USER: '0',
    RATE_LIMIT_MUTATIONS_PER_API_KEY: '0',
    RATE_LIMIT_CONNECTIONS_PER_USER: '0',
    RATE_LIMIT_CONNECTIONS_PER_IP: '0',
  });
  credentials = {
    anonymous: {},
    user: await asUser('fuzz-user'),
    admin: await asUser('fuzz-admin', { admin: true }),
    service: asService,
    badToken: { authorization: 'Bearer not.a.token' },
    badScheme: { authorization: 'Basic Zm9vOmJhcg==' },
    badKey: { 'x-api-key': 'nsk_definitely-not-a-key' },
  };
  const category = await postGraphQL(
    service.url,
    'mutation { upsertCategory(input: { name: "info" }) { name } }',
    {},
    credentials.admin,
  );
  expect(category.errors).toBeUndefined();
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await database?.drop();
}, 30_000);

// ---------------------------------------------------------------- values and queries

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const hugeString = fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n));
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', 'javascript:alert(1)', 'data:text/html,x', '../../etc/passwd', '{{x}}'),
  hugeString,
);
/** Any JSON, including deep nesting and wrong shapes. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant(null),
  anyString,
  fc.integer({ min: 0, max: 400 }).map((depth) => {
    let value: unknown = 'deep';
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
    return value;
  }),
);

/**
 * A value for `type`: of the right shape when `clean` (random content still: huge strings, odd
 * dates, deep JSON), otherwise sometimes of the wrong kind altogether.
 */
function valueFor(
  g: fc.GeneratorValue,
  type: GraphQLInputType,
  clean: boolean,
  depth = 0,
): unknown {
  if (!clean && g(fc.integer, { min: 0, max: 9 }) === 0) return g(() => anyJson);
  const inner = getNullableType(type);
  if (!isNonNullType(type) && g(fc.integer, { min: 0, max: 6 }) === 0) return null;
  if (isListType(inner)) {
    const length = g(fc.integer, { min: 0, max: depth > 1 ? 2 : 5 });
    return Array.from({ length }, () => valueFor(g, inner.ofType, clean, depth + 1));
  }
  if (isEnumType(inner)) {
    const names = fc.constantFrom(...inner.getValues().map((v) => v.name));
    return g(() => (clean ? names : fc.oneof(names, anyString)));
  }
  if (isInputObjectType(inner)) {
    if (depth > 3) return {};
    const fields = Object.values(inner.getFields());
    const value: Record<string, unknown> = {};
    for (const field of fields) {
      if (isNonNullType(field.type) || g(fc.boolean)) {
        value[field.name] = valueFor(g, field.type, clean, depth + 1);
      }
    }
    if (!clean && g(fc.integer, { min: 0, max: 8 }) === 0) {
      value[g(fc.string, { maxLength: 10 })] = 1;
    }
    return value;
  }
  if (isScalarType(inner)) {
    switch (inner.name) {
      case 'Int':
        return g(() =>
          clean
            ? fc.integer({ min: -5, max: 2000 })
            : fc.oneof(
                fc.integer({ min: -5, max: 2000 }),
                fc.constantFrom(2 ** 31, -(2 ** 53), 1.5),
              ),
        );
      case 'Boolean':
        return g(fc.boolean);
      case 'DateTime':
        return g(() =>
          fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.constantFrom('2999-01-01T00:00:00Z', 'not a date', '1970-01-01'),
          ),
        );
      case 'JSON':
        return g(() => anyJson);
      case 'ID':
        return g(() =>
          fc.oneof(
            fc.uuid(),
            fc.string({ maxLength: 30 }),
            fc.constant('00000000-0000-0000-0000-000000000000'),
          ),
        );
      default:
        return g(() => anyString);
    }
  }
  return null;
}

/**
 * A GraphQL literal for a value, as the query text would say it inline; `type` (when the value
 * fits it) prints enum values bare, as they must be.
 */
function literal(value: unknown, type?: GraphQLInputType): string {
  const inner = type && getNullableType(type);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return inner && isEnumType(inner) && inner.getValue(value) ? value : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const item = inner && isListType(inner) ? inner.ofType : undefined;
    return `[${value.map((element) => literal(element, item)).join(', ')}]`;
  }
  const fields = inner && isInputObjectType(inner) ? inner.getFields() : undefined;
  const entries = Object.entries(value as Record<string, unknown>).filter(([key]) =>
    /^[_A-Za-z][_0-9A-Za-z]*$/.test(key),
  );
  return `{${entries.map(([key, field]) => `${key}: ${literal(field, fields?.[key]?.type)}`).join(', ')}}`;
}

/**
 * A random operation over the schema's root types, with its variables. A clean one is valid
 * GraphQL, so it reaches the resolvers (with random arguments); otherwise it also has undeclared
 * variables, unknown fields and arguments, wrong directives and wrong types.
 */
function randomOperation(g: fc.GeneratorValue): {
  query: string;
  variables: Record<string, unknown>;
} {
  const clean = g(fc.boolean);
  /** True one time in `n`, never when clean. */
  const flaw = (n: number) => !clean && g(fc.integer, { min: 1, max: n }) === 1;
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  const root =
    roots[g(fc.integer, { min: 0, max: 9 }) < 6 ? 0 : g(fc.integer, { min: 1, max: 2 })]!;
  const keyword = root === roots[0] ? 'query' : root === roots[1] ? 'mutation' : 'subscription';
  const declarations: string[] = [];
  const variables: Record<string, unknown> = {};
  let aliasCount = 0;

  const args = (field: GraphQLField<unknown, unknown>) => {
    const parts: string[] = [];
    for (const arg of field.args) {
      if (!isNonNullType(arg.type) && g(fc.boolean)) continue;
      const value = valueFor(g, arg.type, clean);
      if (flaw(5)) {
        parts.push(`${arg.name}: $undeclared`);
      } else if (g(fc.integer, { min: 0, max: 2 }) === 0) {
        // As a variable, declared with the argument's type (or a wrong one).
        const name = `v${declarations.length}`;
        declarations.push(`$${name}: ${flaw(5) ? 'String' : String(arg.type)}`);
        variables[name] = value;
        parts.push(`${arg.name}: $${name}`);
      } else {
        parts.push(`${arg.name}: ${literal(value, arg.type)}`);
      }
    }
    if (flaw(10)) parts.push(`bogus: 1`);
    return parts.length ? `(${parts.join(', ')})` : '';
  };

  const selection = (type: GraphQLObjectType, depth: number): string => {
    const fields = Object.values(type.getFields());
    // A subscription selects exactly one root field, unconditionally.
    const rootOfSubscription = depth === 0 && keyword === 'subscription';
    const count =
      rootOfSubscription && clean ? 1 : g(fc.integer, { min: 1, max: Math.min(4, fields.length) });
    const picked: string[] = [];
    const names = new Set<string>();
    for (let i = 0; i < count; i++) {
      const field = fields[g(fc.integer, { min: 0, max: fields.length - 1 })]!;
      const named = getNamedType(field.type);
      // The same field twice with other arguments conflicts unless aliased.
      const needsAlias = clean && names.has(field.name);
      names.add(field.name);
      const alias =
        needsAlias || g(fc.integer, { min: 0, max: 6 }) === 0 ? `a${aliasCount++}: ` : '';
      const directives = [
        '',
        '',
        '',
        ' @include(if: true)',
        ' @skip(if: false)',
        ' @include(if: false)',
        ...(clean ? [] : [' @deprecated', ' @nope', ' @skip']),
      ];
      const directive =
        rootOfSubscription && clean
          ? ''
          : directives[g(fc.integer, { min: 0, max: directives.length - 1 })];
      let sub = '';
      if (isObjectType(named) || isInterfaceType(named) || isUnionType(named)) {
        sub =
          depth > 5 || !isObjectType(named)
            ? ' { __typename }'
            : ` { ${selection(named, depth + 1)} }`;
      } else if (flaw(12)) {
        sub = ' { nope }'; // a selection on a leaf
      }
      picked.push(`${alias}${field.name}${args(field)}${directive}${sub}`);
    }
    if (!(rootOfSubscription && clean)) {
      if (g(fc.integer, { min: 0, max: 8 }) === 0) picked.push('__typename');
      if (g(fc.integer, { min: 0, max: 10 }) === 0)
        picked.push(`... on ${type.name} { __typename }`);
    }
    if (flaw(10)) picked.push('notAField');
    return picked.join(' ');
  };

  const body = selection(root, 0);
  const vars = declarations.length ? `(${declarations.join(', ')})` : '';
  return { query: `${keyword} Fuzz${vars} { ${body} }`, variables };
}

const tokens = fc.constantFrom(
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '$',
  '!',
  '=',
  '@',
  '...',
  '|',
  '&',
  '"',
  '"""',
  '#',
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'viewer',
  'notifications',
  'kind',
  'sendNotification',
  'input',
  'after',
  'null',
  'true',
  '1e999',
  '-0',
  '\\u0000',
  '\u2028',
  '__schema',
  '__type(name: "Query")',
  'myNotifications',
  'unseenCount',
);

/** The query text of an HTTP case: random tokens, random text, schema-shaped, or deep nesting. */
const queryText: fc.Arbitrary<{ query: unknown; variables: unknown }> = fc.oneof(
  { weight: 6, arbitrary: fc.gen().map((g) => randomOperation(g)) },
  {
    weight: 2,
    arbitrary: fc.gen().map((g) => {
      const { query, variables } = randomOperation(g);
      // The right query with random variables: wrong types, huge strings, nulls.
      return {
        query,
        variables: g(() =>
          fc.oneof(anyJson, fc.dictionary(fc.string(), anyJson), fc.constant(variables)),
        ),
      };
    }),
  },
  fc.array(tokens, { maxLength: 60 }).map((parts) => ({ query: parts.join(' '), variables: {} })),
  fc.tuple(anyString, anyJson).map(([query, variables]) => ({ query, variables })),
  fc.integer({ min: 50, max: 5000 }).map((n) => ({
    query: `{ ${'viewer { '.repeat(n)}${'}'.repeat(n)} }`,
    variables: {},
  })),
  fc.integer({ min: 50, max: 20000 }).map((n) => ({
    query: `{ notifications(first: ${'['.repeat(n)}1${']'.repeat(n)}) { pageInfo { hasNextPage } } }`,
    variables: {},
  })),
  fc.tuple(anyJson, anyJson).map(([query, variables]) => ({ query, variables })),
);

/** An HTTP request: method, content type, body shape and credentials, all at random. */
const httpCase = fc.record({
  text: queryText,
  as: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('user', 'admin', 'service') },
    fc.constantFrom('anonymous', 'badToken', 'badScheme', 'badKey'),
  ),
  form: fc.oneof(
    { weight: 6, arbitrary: fc.constant('json') },
    fc.constantFrom('get', 'batch', 'raw-text', 'invalid-json', 'empty', 'huge'),
  ),
  operationName: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    fc.constant('Fuzz'),
    fc.string({ maxLength: 8 }),
  ),
});

/** Cases this fuzzing found once, run first every time. */
const HTTP_FOUND: [ValueOf<typeof httpCase>][] = [
  // A GET whose `variables` is not JSON (cut at 2,000 characters): Yoga's parser threw, 500.
  [
    {
      text: { query: '{ viewer { id } }', variables: 'x'.repeat(3000) },
      as: 'user',
      form: 'get',
      operationName: undefined,
    },
  ],
  // A subscription whose root field is skipped: the executor failed with a TypeError, 500.
  [
    {
      text: {
        query: 'subscription { publicNotifications @skip(if: true) { cursor } }',
        variables: {},
      },
      as: 'user',
      form: 'json',
      operationName: undefined,
    },
  ],
  // @skip without `if` on a subscription root: validation itself threw; the error had no code.
  [
    {
      text: { query: 'subscription { publicNotifications @skip { cursor } }', variables: {} },
      as: 'user',
      form: 'json',
      operationName: undefined,
    },
  ],
  // A variable of the wrong type: graphql-js's error had no code.
  [
    {
      text: {
        query: 'query ($n: Int) { notifications(first: $n) { nodes { id } } }',
        variables: { n: 'x' },
      },
      as: 'user',
      form: 'json',
      operationName: undefined,
    },
  ],
];

async function sendHttp({ text, as, form, operationName }: ValueOf<typeof httpCase>) {
  const headers: Record<string, string> = { ...credentials[as] };
  let body: string | undefined;
  let url = service.url;
  let method = 'POST';
  const payload = { query: text.query, variables: text.variables, operationName };
  switch (form) {
    case 'get': {
      method = 'GET';
      const params = new URLSearchParams({
        query: String(text.query).slice(0, 4000),
        variables: JSON.stringify(text.variables ?? null).slice(0, 2000),
      });
      url = `${service.url}?${params}`;
      headers.accept = 'application/json';
      break;
    }
    case 'batch':
      headers['content-type'] = 'application/json';
      body = JSON.stringify([payload, payload]);
      break;
    case 'raw-text':
      headers['content-type'] = 'text/plain';
      body = String(text.query);
      break;
    case 'invalid-json':
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload).slice(0, -1);
      break;
    case 'empty':
      headers['content-type'] = 'application/json';
      body = '';
      break;
    case 'huge':
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ ...payload, variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
      break;
    default:
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload);
  }
  const response = await fetch(url, {
    method,
    headers: { accept: 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const raw = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', raw };
}

/** Every GraphQL error in `value` (a response body, or a graphql-ws payload) lacking a code. */
function errorsWithoutCode(value: unknown): unknown[] {
  const results = Array.isArray(value) ? value : [value];
  return results.flatMap((result) => {
    if (typeof result !== 'object' || result === null) return [];
    const errors = (result as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.filter(
      (error) =>
        typeof (error as { extensions?: { code?: unknown } })?.extensions?.code !== 'string',
    );
  });
}

// ---------------------------------------------------------------- WebSocket sessions

const wsGarbage = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), data: fc.string({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant('binary' as const), data: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({
    kind: fc.constant('text' as const),
    data: fc.constantFrom(
      '{',
      '[]',
      'null',
      '{"type":',
      '{"type":null}',
      '{"type":"subscribe"}',
      '""',
    ),
  }),
);
const wsMessage = fc.record({
  kind: fc.constant('message' as const),
  type: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('subscribe', 'complete', 'ping') },
    fc.constantFrom('connection_init', 'pong', 'connection_ack', 'next', 'error', 'bogus'),
  ),
  id: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('1', '2', '3') },
    fc.constantFrom(''),
    fc.string({ maxLength: 10 }),
    fc.integer(),
  ),
  auth: fc.constantFrom('user', 'service', 'none', 'garbage', 'wrong-type'),
  operation: fc.oneof(
    fc.constant({ query: FOLLOW, variables: {} as unknown }),
    fc.record({ query: fc.constant(FOLLOW), variables: fc.record({ after: anyJson }) }),
    {
      weight: 3,
      arbitrary: fc.gen().map((g) => randomOperation(g) as { query: unknown; variables: unknown }),
    },
    fc.tuple(anyJson, anyJson).map(([query, variables]) => ({ query, variables })),
  ),
});
type WsFrame = ValueOf<typeof wsGarbage> | ValueOf<typeof wsMessage>;
const INIT = {
  kind: 'message' as const,
  type: 'connection_init',
  id: '',
  operation: { query: null as unknown, variables: null as unknown },
};

/** A session: usually a proper start (the right subprotocol, a signed-in init), then anything. */
const wsSession = fc.record({
  protocol: fc.oneof(
    { weight: 8, arbitrary: fc.constant('graphql-transport-ws') },
    fc.constantFrom('graphql-ws', 'none', 'bogus'),
  ),
  start: fc.oneof(
    { weight: 3, arbitrary: fc.constant([{ ...INIT, auth: 'user' } as WsFrame]) },
    fc.constant<WsFrame[]>([]),
  ),
  frames: fc.array(fc.oneof({ weight: 6, arbitrary: wsMessage }, wsGarbage), {
    minLength: 1,
    maxLength: 8,
  }),
});
type WsSession = ValueOf<typeof wsSession>;

/** Close codes a server may use on a bad client; 4500 and 1011 would be its own failure. */
const EXPECTED_CLOSE_CODES = new Set([
  1000,
  1002,
  1003,
  1005,
  1007,
  1008,
  ...Object.values(CLOSE)
    .map(({ code }) => code)
    .filter((code) => code !== CLOSE.internalServerError.code),
]);

interface SessionReport {
  closeCode?: number;
  /** The client refused the handshake (a subprotocol the server did not pick): no server close. */
  handshakeRefused?: boolean;
  uncodedErrors: unknown[];
  /** What the server answered, by message type. */
  received: Record<string, number>;
}

async function runSession(session: WsSession, userTokenValue: string): Promise<SessionReport> {
  const protocol = session.protocol === 'none' ? undefined : session.protocol;
  const socket = new WebSocket(service.wsUrl, protocol);
  const report: SessionReport = { uncodedErrors: [], received: {} };
  const closed = new Promise<void>((resolve) => {
    socket.on('close', (code) => {
      report.closeCode = code;
      resolve();
    });
  });
  socket.on('error', (error) => {
    if (/subprotocol/i.test(error.message)) report.handshakeRefused = true;
  });
  let onAck = () => {};
  const acknowledged = new Promise<void>((resolve) => (onAck = resolve));
  socket.on('message', (data: Buffer) => {
    let message: { type?: string; payload?: unknown };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      report.uncodedErrors.push({ notJson: data.toString().slice(0, 100) });
      return;
    }
    const type = String(message.type);
    if (type === 'connection_ack') onAck();
    report.received[type] = (report.received[type] ?? 0) + 1;
    if (message.type === 'error') {
      const errors = Array.isArray(message.payload) ? message.payload : [message.payload];
      report.uncodedErrors.push(...errorsWithoutCode({ errors }));
    }
    if (message.type === 'next') report.uncodedErrors.push(...errorsWithoutCode(message.payload));
  });
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => socket.once('open', () => resolve(true))),
    closed.then(() => false),
  ]);
  if (opened) {
    for (const [index, frame] of ([...session.start, ...session.frames] as WsFrame[]).entries()) {
      if (socket.readyState !== WebSocket.OPEN) break;
      // After a proper start, wait for the acknowledgement as a client does, so that what
      // follows reaches the operations rather than the "not acknowledged yet" check.
      if (index === session.start.length && index > 0) {
        await Promise.race([acknowledged, closed, new Promise((r) => setTimeout(r, 2000))]);
        if (socket.readyState !== WebSocket.OPEN) break;
      }
      if (frame.kind === 'text') socket.send(frame.data);
      else if (frame.kind === 'binary') socket.send(frame.data);
      else {
        const initPayloads: Record<string, unknown> = {
          user: { authorization: `Bearer ${userTokenValue}` },
          service: { apiKey: TEST_API_KEY },
          none: undefined,
          garbage: { authorization: 'Bearer x.y.z' },
          'wrong-type': { authorization: 42, apiKey: ['a'] },
        };
        const payload =
          frame.type === 'connection_init'
            ? initPayloads[frame.auth]
            : frame.type === 'subscribe'
              ? frame.operation
              : undefined;
        socket.send(JSON.stringify({ type: frame.type, id: frame.id, payload }));
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  // Long enough for answers to what was sent; a session the server did not close is closed here.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 150))]);
  const closedByServer = report.closeCode !== undefined;
  if (!closedByServer) socket.close(1000);
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
  if (!closedByServer) report.closeCode = undefined;
  socket.terminate();
  return report;
}

// ---------------------------------------------------------------- properties

describe('fuzzing a real server', () => {
  it(`answers ${HTTP_RUNS} random HTTP requests without a 5xx, every error with a code`, async () => {
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    let executed = 0;
    await fc.assert(
      fc.asyncProperty(httpCase, async (input) => {
        const { status, type, raw } = await sendHttp(input);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, raw.slice(0, 500)).toBeLessThan(500);
        if (!type.includes('json')) return;
        const body = JSON.parse(raw) as unknown;
        const results = Array.isArray(body) ? body : [body];
        if (results.some((result) => (result as { data?: unknown }).data)) executed += 1;
        for (const result of results) {
          for (const error of (result as { errors?: { extensions?: { code?: string } }[] })
            .errors ?? []) {
            const code = String(error.extensions?.code);
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }
        expect(errorsWithoutCode(body), raw.slice(0, 500)).toEqual([]);
      }),
      { seed: SEED, numRuns: HTTP_RUNS, endOnFailure: true, examples: HTTP_FOUND },
    );
    console.info(
      'fuzz HTTP:',
      JSON.stringify({
        statuses: Object.fromEntries(statuses),
        withData: executed,
        codes: Object.fromEntries(codes),
      }),
    );
    expect(service.alive()).toBe(true);
  }, 120_000);

  it(`survives ${WS_BATCHES * 10} random WebSocket sessions: no internal-error closes, every error with a code`, async () => {
    // One user per concurrent session, so MAX_CONNECTIONS_PER_USER is not what closes them.
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => userToken(`fuzz-ws-user-${i}`)),
    );
    const closes = new Map<string, number>();
    const received = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(wsSession, { minLength: 10, maxLength: 10 }), async (sessions) => {
        const reports = await Promise.all(
          sessions.map((session, i) => runSession(session, tokens[i]!)),
        );
        for (const report of reports) {
          const code = String(report.closeCode ?? 'open');
          closes.set(code, (closes.get(code) ?? 0) + 1);
          for (const [type, n] of Object.entries(report.received)) {
            received.set(type, (received.get(type) ?? 0) + n);
          }
        }
        for (const report of reports) {
          expect(report.uncodedErrors).toEqual([]);
          if (report.closeCode !== undefined && !report.handshakeRefused) {
            expect(EXPECTED_CLOSE_CODES, `close code ${report.closeCode}`).toContain(
              report.closeCode,
            );
          }
        }
      }),
      { seed: SEED, numRuns: WS_BATCHES, endOnFailure: true },
    );
    console.info(
      'fuzz WebSocket:',
      JSON.stringify({
        closeCodes: Object.fromEntries(closes),
        serverMessages: Object.fromEntries(received),
      }),
    );
    expect(service.alive()).toBe(true);
  }, 120_000);

  it('still serves normal traffic afterwards: a send is delivered live, /healthz and /readyz answer 200', async () => {
    expect(service.alive()).toBe(true);
    expect(service.child.stderr).not.toMatch(/Internal error occurred|uncaught|unhandled/i);
    for (const route of ['/healthz', '/readyz']) {
      expect((await fetch(new URL(route, service.origin))).status).toBe(200);
    }
    const inbox = await postGraphQL<{ eventCursor: string }>(
      service.url,
      '{ eventCursor }',
      {},
      await asUser('after-fuzz'),
    );
    const client = await connectUser(service.wsUrl, 'after-fuzz');
    try {
      const stream = new Stream<{ myNotifications: { notification: { id: string } } }>(
        client,
        FOLLOW,
        { after: inbox.data!.eventCursor },
      );
      const sent = await postGraphQL<{ sendNotification: { notification: { id: string } } }>(
        service.url,
        'mutation { sendNotification(input: { category: "info", recipientIds: ["after-fuzz"], title: "still here" }) { notification { id } } }',
        {},
        asService,
      );
      expect(sent.errors).toBeUndefined();
      const [event] = await stream.waitForCount(1, 10_000);
      expect(event!.data!.myNotifications.notification.id).toBe(
        sent.data!.sendNotification.notification.id,
      );
    } finally {
      await client.dispose();
    }
  });
});
