import { readFileSync } from 'node:fs';
import {
  Kind,
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
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
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
    RATE_LIMIT_QUERIES_PER_USER: '0',
    RATE_LIMIT_QUERIES_PER_API_KEY: '0',
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
  // What realistic cases act on: a require-ack category, a template, notifications to act on.
  for (const setup of [
    'mutation { upsertCategory(input: { name: "fuzz-ack", requireAck: true }) { name } }',
    'mutation { upsertTemplate(input: { key: "fuzz-template", title: "Hi {{name}}" }) { key } }',
  ]) {
    expect((await postGraphQL(service.url, setup, {}, credentials.admin)).errors).toBeUndefined();
  }
  for (const input of [
    { category: 'info', public: true, title: 'for everyone' },
    { category: 'fuzz-ack', public: true, title: 'terms' },
    { category: 'info', recipientIds: ['fuzz-user', 'fuzz-admin'], title: 'for two' },
    { category: 'fuzz-ack', recipientIds: ['fuzz-admin'], title: 'sign this' },
  ]) {
    const sent = await postGraphQL<{ sendNotification: { notification: { id: string } } }>(
      service.url,
      'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { notification { id } } }',
      { input },
      asService,
    );
    expect(sent.errors).toBeUndefined();
    knownIds.push(sent.data!.sendNotification.notification.id);
  }
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

/** Users the realistic cases send to and sign in as. */
const SANE_USERS = [
  'fuzz-user',
  'fuzz-admin',
  ...Array.from({ length: 10 }, (_, i) => `fuzz-ws-user-${i}`),
];
/** Ids of notifications that exist (filled in beforeAll): what a realistic case acts on. */
const knownIds: string[] = [];
/** Strings a realistic case passes, by argument or input field name. */
const SANE_STRINGS: Record<string, string[]> = {
  category: ['info', 'fuzz-ack'],
  name: ['fuzz-a', 'fuzz-b'],
  key: ['fuzz-template'],
  template: ['fuzz-template'],
  actionUrl: ['/inbox', 'https://example.com/orders/1'],
  icon: ['/icon.png'],
  title: ['Build finished', 'Hello {{name}}'],
  body: ['All green.', 'Details inside'],
};

/**
 * A value for `type` as a real client would send it (existing ids and users, short text, dates
 * ahead, small numbers), so the case gets past validation and runs a resolver to the end;
 * undefined for an optional value left out.
 */
function saneValueFor(
  g: fc.GeneratorValue,
  type: GraphQLInputType,
  name: string,
  depth = 0,
): unknown {
  const inner = getNullableType(type);
  // Cursors come from the server: a client does not make them up.
  if (name === 'after') return undefined;
  if (!isNonNullType(type) && g(fc.integer, { min: 0, max: 2 }) > 0) return undefined;
  if (isListType(inner)) {
    const length = g(fc.integer, { min: 1, max: 3 });
    return Array.from({ length }, () => saneValueFor(g, inner.ofType, name, depth + 1) ?? null);
  }
  if (isEnumType(inner)) return g(fc.constantFrom, ...inner.getValues().map((v) => v.name));
  if (isInputObjectType(inner)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(inner.getFields())) {
      const fieldValue = saneValueFor(g, field.type, field.name, depth + 1);
      if (fieldValue !== undefined) value[field.name] = fieldValue;
    }
    return value;
  }
  switch (inner.name) {
    case 'Int':
      return g(fc.integer, { min: 1, max: 50 });
    case 'Boolean':
      return g(fc.boolean);
    case 'DateTime':
      return new Date(
        Date.now() + g(fc.integer, { min: 3600, max: 30 * 86400 }) * 1000,
      ).toISOString();
    case 'JSON':
      return g(fc.jsonValue, { maxDepth: 2 });
    case 'ID':
      return name === 'recipientIds'
        ? g(fc.constantFrom, ...SANE_USERS)
        : g(fc.constantFrom, ...knownIds);
    default:
      return g(fc.constantFrom, ...(SANE_STRINGS[name] ?? ['fuzz', 'a b c']));
  }
}

/**
 * A random operation over the schema's root types, with its variables. A clean one is valid
 * GraphQL, so it reaches the resolvers (with random arguments); otherwise it also has undeclared
 * variables, unknown fields and arguments, wrong directives and wrong types.
 */
function randomOperation(
  g: fc.GeneratorValue,
  sane = false,
): {
  query: string;
  variables: Record<string, unknown>;
  /** For a sane operation, the credentials allowed to run it. */
  as: 'admin' | 'service';
} {
  const clean = sane || g(fc.boolean);
  /** True one time in `n`, never when clean. */
  const flaw = (n: number) => !clean && g(fc.integer, { min: 1, max: n }) === 1;
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  // A sane case is a query, or a mutation of one field (one refused field would void the rest).
  const root = sane
    ? roots[g(fc.integer, { min: 0, max: 9 }) < 7 ? 0 : 1]!
    : roots[g(fc.integer, { min: 0, max: 9 }) < 6 ? 0 : g(fc.integer, { min: 1, max: 2 })]!;
  const keyword = root === roots[0] ? 'query' : root === roots[1] ? 'mutation' : 'subscription';
  const declarations: string[] = [];
  const variables: Record<string, unknown> = {};
  let aliasCount = 0;
  let sends = false;

  const args = (field: GraphQLField<unknown, unknown>) => {
    const parts: string[] = [];
    for (const arg of field.args) {
      if (!sane && !isNonNullType(arg.type) && g(fc.boolean)) continue;
      const value = sane ? saneValueFor(g, arg.type, arg.name) : valueFor(g, arg.type, clean);
      if (value === undefined) continue;
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
      (rootOfSubscription && clean) || (sane && depth === 0 && keyword === 'mutation')
        ? 1
        : g(fc.integer, { min: 1, max: Math.min(sane ? 3 : 4, fields.length) });
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
          depth > (sane ? 2 : 5) || !isObjectType(named)
            ? ' { __typename }'
            : ` { ${selection(named, depth + 1)} }`;
      } else if (flaw(12)) {
        sub = ' { nope }'; // a selection on a leaf
      }
      if (field.name === 'sendNotification') sends = true;
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
  return {
    query: `${keyword} Fuzz${vars} { ${body} }`,
    variables,
    as: sends ? 'service' : 'admin',
  };
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
const wildHttpCase = fc.record({
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
/** A request as a real client makes it: valid, with credentials allowed to run it. */
const saneHttpCase = fc.gen().map((g) => {
  const { query, variables, as } = randomOperation(g, true);
  return {
    text: { query: query as unknown, variables: variables as unknown },
    as: as as string,
    form: 'json' as string,
    operationName: undefined as string | undefined,
  };
});
/** Half wild, half sane: the sane half reaches the resolvers and their answers are checked. */
const httpCase = fc.oneof(wildHttpCase, saneHttpCase);

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

/**
 * Every GraphQL error in `value` (a response body, or a graphql-ws payload) that shows a defect:
 * one without a code, or INTERNAL_SERVER_ERROR (an exception nobody expected).
 */
function defectiveErrors(value: unknown): unknown[] {
  const results = Array.isArray(value) ? value : [value];
  return results.flatMap((result) => {
    if (typeof result !== 'object' || result === null) return [];
    const errors = (result as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.filter((error) => {
      const code = (error as { extensions?: { code?: unknown } })?.extensions?.code;
      return typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR';
    });
  });
}

/**
 * What the service logs when a resolver throws something nobody expected (src/api/errors.ts),
 * or a fatal line. (Yoga also logs a client's malformed request at error level, so the level
 * alone does not tell a defect.)
 */
const isDefectLog = (line: Record<string, unknown>) =>
  line.msg === 'unexpected error' || Number(line.level) >= 60;

/**
 * Defect lines logged since the last call. Lines reach this process a little after the answer,
 * so a line may be seen one case late; the last test reads them all once more.
 */
let logLinesRead = 0;
function newDefectLogs(): Record<string, unknown>[] {
  const lines = service.child.logLines();
  const fresh = lines.slice(logLinesRead);
  logLinesRead = lines.length;
  return fresh.filter(isDefectLog);
}

/** Sends the service accepted: how many answers, and the ids of those whose id was selected. */
const accepted = { sends: 0, ids: new Set<string>() };

/** Counts the sendNotification fields of `query` that `result` answered with data. */
function recordAcceptedSends(query: unknown, result: unknown) {
  const data = (result as { data?: Record<string, unknown> | null } | null)?.data;
  if (typeof query !== 'string' || !data) return;
  let document;
  try {
    document = parse(query);
  } catch {
    return;
  }
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'mutation') {
      continue;
    }
    for (const selection of definition.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD || selection.name.value !== 'sendNotification') continue;
      const answer = data[(selection.alias ?? selection.name).value] as
        { notification?: { id?: string } } | null | undefined;
      if (!answer) continue;
      accepted.sends += 1;
      if (answer.notification?.id) accepted.ids.add(answer.notification.id);
    }
  }
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
const wildWsSession = fc.record({
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
  /** How long the session stays open after its last frame, in ms. */
  linger: fc.constant(150),
});
/**
 * A session as a real client runs it: signed in, following myNotifications (from now, or with a
 * null cursor) and asking a query or two, then staying a while to receive what is sent.
 */
const saneWsSession = fc
  .tuple(
    fc.shuffledSubarray(['1', '2', '3'], { minLength: 1 }),
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant({ query: FOLLOW, variables: {} as unknown }) },
        fc.constant({ query: FOLLOW, variables: { after: null } as unknown }),
        fc.gen().map((g) => randomOperation(g, true) as { query: unknown; variables: unknown }),
      ),
      { minLength: 3, maxLength: 3 },
    ),
  )
  .map(([ids, operations]) => ({
    protocol: 'graphql-transport-ws',
    start: [{ ...INIT, auth: 'user' } as WsFrame],
    frames: ids.map((id, i): WsFrame => ({
      kind: 'message',
      type: 'subscribe',
      id,
      auth: 'user',
      operation: operations[i]!,
    })),
    linger: 600,
  }));
const wsSession = fc.oneof(wildWsSession, saneWsSession);
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
  defects: unknown[];
  /** What the server answered, by message type. */
  received: Record<string, number>;
  /** `next` messages that carried a myNotifications event. */
  events: number;
}

async function runSession(session: WsSession, userTokenValue: string): Promise<SessionReport> {
  const protocol = session.protocol === 'none' ? undefined : session.protocol;
  const socket = new WebSocket(service.wsUrl, protocol);
  const report: SessionReport = { defects: [], received: {}, events: 0 };
  /** The query of each subscribe sent, by id: what a `next` answers. */
  const queries = new Map<string, unknown>();
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
    let message: { type?: string; id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      report.defects.push({ notJson: data.toString().slice(0, 100) });
      return;
    }
    const type = String(message.type);
    if (type === 'connection_ack') onAck();
    report.received[type] = (report.received[type] ?? 0) + 1;
    if (message.type === 'error') {
      const errors = Array.isArray(message.payload) ? message.payload : [message.payload];
      report.defects.push(...defectiveErrors({ errors }));
    }
    if (message.type === 'next') {
      // A signed-in service may send over the socket too.
      recordAcceptedSends(queries.get(String(message.id)), message.payload);
      report.defects.push(...defectiveErrors(message.payload));
      const data = (message.payload as { data?: { myNotifications?: unknown } } | null)?.data;
      if (data?.myNotifications) report.events += 1;
    }
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
        if (frame.type === 'subscribe') queries.set(String(frame.id), frame.operation.query);
        socket.send(JSON.stringify({ type: frame.type, id: frame.id, payload }));
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  // Long enough for answers to what was sent; a session the server did not close is closed here.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, session.linger))]);
  const closedByServer = report.closeCode !== undefined;
  if (!closedByServer) socket.close(1000);
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
  if (!closedByServer) report.closeCode = undefined;
  socket.terminate();
  return report;
}

// ---------------------------------------------------------------- properties

/** At least this share of the HTTP cases must come back with data: the rest only probe errors. */
const MIN_SHARE_WITH_DATA = 0.3;
/** At least this many myNotifications events must reach the WebSocket sessions. */
const MIN_WS_EVENTS = 100;

describe('fuzzing a real server', () => {
  it(`answers ${HTTP_RUNS} random HTTP requests without a 5xx or an internal error, every error with a code`, async () => {
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    let executed = 0;
    await fc.assert(
      fc.asyncProperty(httpCase, async (input) => {
        const { status, type, raw } = await sendHttp(input);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, raw.slice(0, 500)).toBeLessThan(500);
        expect(newDefectLogs(), 'unexpected errors the service logged').toEqual([]);
        if (!type.includes('json')) return;
        const body = JSON.parse(raw) as unknown;
        const results = Array.isArray(body) ? body : [body];
        if (results.some((result) => (result as { data?: unknown }).data)) executed += 1;
        for (const result of results) {
          recordAcceptedSends(input.text.query, result);
          for (const error of (result as { errors?: { extensions?: { code?: string } }[] })
            .errors ?? []) {
            const code = String(error.extensions?.code);
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }
        expect(defectiveErrors(body), raw.slice(0, 500)).toEqual([]);
      }),
      { seed: SEED, numRuns: HTTP_RUNS, endOnFailure: true, examples: HTTP_FOUND },
    );
    console.info(
      'fuzz HTTP:',
      JSON.stringify({
        statuses: Object.fromEntries(statuses),
        withData: executed,
        acceptedSends: accepted.sends,
        codes: Object.fromEntries(codes),
      }),
    );
    expect(service.alive()).toBe(true);
    // Cases that reached the resolvers and came back with data: fuzzing that only ever hits
    // validation tests nothing behind it.
    expect(executed).toBeGreaterThanOrEqual(MIN_SHARE_WITH_DATA * (HTTP_RUNS + HTTP_FOUND.length));
  }, 120_000);

  it(`survives ${WS_BATCHES * 10} random WebSocket sessions: no internal-error closes, every error with a code, events delivered`, async () => {
    // One user per concurrent session, so MAX_CONNECTIONS_PER_USER is not what closes them.
    const users = Array.from({ length: 10 }, (_, i) => `fuzz-ws-user-${i}`);
    const tokens = await Promise.all(users.map((userId) => userToken(userId)));
    const closes = new Map<string, number>();
    const received = new Map<string, number>();
    let events = 0;
    // Sends to every session's user all along, so a session that follows receives live events.
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const sent = await postGraphQL<{ sendNotification: { notification: { id: string } } }>(
          service.url,
          'mutation ($to: [ID!]) { sendNotification(input: { category: "info", recipientIds: $to, title: "live" }) { notification { id } } }',
          { to: users },
          asService,
        );
        expect(sent.errors).toBeUndefined();
        accepted.sends += 1;
        accepted.ids.add(sent.data!.sendNotification.notification.id);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(wsSession, { minLength: 10, maxLength: 10 }),
          async (sessions) => {
            const reports = await Promise.all(
              sessions.map((session, i) => runSession(session, tokens[i]!)),
            );
            for (const report of reports) {
              const code = String(report.closeCode ?? 'open');
              closes.set(code, (closes.get(code) ?? 0) + 1);
              events += report.events;
              for (const [type, n] of Object.entries(report.received)) {
                received.set(type, (received.get(type) ?? 0) + n);
              }
            }
            expect(newDefectLogs(), 'unexpected errors the service logged').toEqual([]);
            for (const report of reports) {
              expect(report.defects).toEqual([]);
              if (report.closeCode !== undefined && !report.handshakeRefused) {
                expect(EXPECTED_CLOSE_CODES, `close code ${report.closeCode}`).toContain(
                  report.closeCode,
                );
              }
            }
          },
        ),
        { seed: SEED, numRuns: WS_BATCHES, endOnFailure: true },
      );
    } finally {
      sending = false;
      await sender;
    }
    console.info(
      'fuzz WebSocket:',
      JSON.stringify({
        closeCodes: Object.fromEntries(closes),
        serverMessages: Object.fromEntries(received),
        events,
      }),
    );
    expect(service.alive()).toBe(true);
    expect(events).toBeGreaterThanOrEqual(MIN_WS_EVENTS);
  }, 120_000);

  it('leaves consistent data: counts equal lists, nobody sees what is not theirs, each accepted send stored once', async () => {
    const rows = <T>(text: string, values: unknown[] = []) => query<T>(database.url, text, values);
    const recipients = await rows<{ userId: string }>(
      `SELECT DISTINCT "userId" FROM "Receipt" ORDER BY "userId" LIMIT 50`,
    );
    const users = [...new Set([...SANE_USERS, ...recipients.map((r) => r.userId)])];
    for (const userId of users) {
      const inbox = await postGraphQL<{
        unseenCount: number;
        unseenNotifications: { id: string }[];
        notifications: { edges: { node: { id: string } }[] };
      }>(
        service.url,
        '{ unseenCount unseenNotifications(limit: 1000) { id } notifications(first: 100) { edges { node { id } } } }',
        {},
        await asUser(userId),
      );
      expect(inbox.errors, userId).toBeUndefined();
      const { unseenCount, unseenNotifications, notifications } = inbox.data!;
      expect(unseenNotifications.length, `${userId}: unseenCount is the list's length`).toBe(
        unseenCount,
      );
      const visible = new Set(
        (
          await rows<{ id: string }>(
            `SELECT id FROM "Notification" n WHERE public OR EXISTS
               (SELECT 1 FROM "Receipt" r WHERE r."notificationId" = n.id AND r."userId" = $1)`,
            [userId],
          )
        ).map((row) => row.id),
      );
      const shown = [
        ...unseenNotifications.map((n) => n.id),
        ...notifications.edges.map((edge) => edge.node.id),
      ];
      expect(
        shown.filter((id) => !visible.has(id)),
        `${userId}: notifications not theirs`,
      ).toEqual([]);
    }

    // Every stored notification was an accepted send, and has one CREATED event per audience.
    const stored = await rows<{ id: string }>(`SELECT id FROM "Notification"`);
    expect(stored.length).toBeLessThanOrEqual(accepted.sends + knownIds.length);
    const storedIds = new Set(stored.map((row) => row.id));
    expect(
      [...accepted.ids].filter((id) => !storedIds.has(id)),
      'accepted, not stored',
    ).toEqual([]);
    const wrongEvents = await rows<{ id: string; created: string; audience: string }>(
      `SELECT n.id, created, audience FROM "Notification" n,
         LATERAL (SELECT count(*) AS created FROM "Event" e
                   WHERE e."notificationId" = n.id AND e.type = 'CREATED') c,
         LATERAL (SELECT CASE WHEN n.public THEN 1 ELSE
                   (SELECT count(*) FROM "Receipt" r WHERE r."notificationId" = n.id) END
                   AS audience) a
       WHERE created <> audience`,
    );
    expect(wrongEvents, 'notifications whose CREATED events do not match their audience').toEqual(
      [],
    );
  });

  it('still serves normal traffic afterwards: a send is delivered live, /healthz and /readyz answer 200', async () => {
    expect(service.alive()).toBe(true);
    expect(service.child.stderr).not.toMatch(/Internal error occurred|uncaught|unhandled/i);
    expect(service.child.logLines().filter(isDefectLog)).toEqual([]);
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
