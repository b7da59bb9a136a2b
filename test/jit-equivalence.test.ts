import fc from 'fast-check';
import {
  getOperationAST,
  isObjectType,
  parse,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { createYoga, isAsyncIterable } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCursorDocument, MarkSeenDocument } from '../client/graphql.js';
import { useCompiledExecution } from '../src/api/jit.js';
import { schema } from '../src/schema/index.js';
import { useReadSnapshots } from '../src/schema/read-snapshot.js';
import type { Context } from '../src/schema/context.js';
import { ok, send, upsertCategory } from './helpers/operations.js';
import { isValid, randomOperation } from './helpers/random-documents.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Compiled execution (graphql-jit, through the plugin and its enableIf as the app uses them)
// must be indistinguishable from graphql-js: over random documents against the real schema and
// a real database, every resolver gets the same arguments and every result is the same.
// Documents are queries (fields in any order, aliases, inline arguments or variables of any
// name, fragments, @include/@skip) and subscriptions; mutations are left out (they change the
// data, and are not compiled). Fixed seed (JIT_SEED to change it); on failure fast-check
// prints the seed and path, and the assertion the document and its variables.

const SEED = Number(process.env.JIT_SEED ?? 20261130);
const RUNS = Number(process.env.JIT_RUNS ?? 200);
const USER = 'pat';

let server: TestServer;
/** Valid cursors of this database, so replays have something to read. */
let cursors: string[];
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  cursors = [(await ok(server, EventCursorDocument, {}, USER)).eventCursor];
  for (let i = 0; i < 3; i++) {
    const sent = await send(server, { category: 'info', recipientIds: [USER], title: `n${i}` });
    await send(server, { category: 'terms', public: true, title: `p${i}`, body: 'b' });
    if (i === 1) await ok(server, MarkSeenDocument, { ids: [sent.notification.id] }, USER);
    cursors.push((await ok(server, EventCursorDocument, {}, USER)).eventCursor);
  }
});
afterAll(() => server.stop());

/**
 * Each resolver call of an execution (where, which field, with which arguments), by the
 * execution's own context object: a resolver that an earlier execution started and that runs on
 * after its result was answered (graphql-js answers once an error has nulled the response)
 * records into that execution's list, not the one running now.
 */
const callsOf = new WeakMap<object, string[]>();
// The app's own schema object, its resolvers wrapped to record their calls: this test file's
// process runs only this test's executions, and the server it started only to seed data.
recordResolverCalls();

function recordResolverCalls() {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      for (const key of ['resolve', 'subscribe'] as const) {
        const resolver = field[key];
        if (!resolver) continue;
        field[key] = (source, args, context, info) => {
          const path: (string | number)[] = [];
          for (let at: typeof info.path | undefined = info.path; at; at = at.prev) {
            path.unshift(at.key);
          }
          callsOf
            .get(context as object)
            ?.push(`${key} ${type.name}.${field.name} at ${path.join('.')} ${sortedJson(args)}`);
          return resolver(source, args, context, info);
        };
      }
    }
  }
}

/** JSON with keys sorted: the order in which arguments were written does not matter. */
const sortedJson = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1)))
      : inner,
  );

/**
 * The app's execution pipeline with compiled execution, and the same without it (graphql-js's
 * execute and subscribe): only the compiling differs, not how errors are caught around it. Both
 * end each execution's read snapshot, as the app does.
 */
const executors = {
  compiled: createYoga<Record<string, never>, Context>({
    schema,
    plugins: [useReadSnapshots(), useCompiledExecution()],
    maskedErrors: false,
    logging: false,
  }),
  'graphql-js': createYoga<Record<string, never>, Context>({
    schema,
    plugins: [useReadSnapshots()],
    maskedErrors: false,
    logging: false,
  }),
};

/** What a client would see: the result as the app serializes it, or "a stream". */
async function outcome(result: unknown): Promise<unknown> {
  if (isAsyncIterable(result)) {
    await (result as AsyncIterableIterator<unknown>).return?.();
    return 'stream';
  }
  const { stringify } = result as ExecutionResult & { stringify?: (r: unknown) => string };
  return JSON.parse((stringify ?? JSON.stringify)(result)) as unknown;
}

async function run(how: keyof typeof executors, shared: ExecutionArgs) {
  const calls: string[] = [];
  const args = { ...shared, contextValue: { ...(shared.contextValue as object) } };
  callsOf.set(args.contextValue, calls);
  const subscription =
    getOperationAST(args.document, args.operationName)?.operation === 'subscription';
  const enveloped = executors[how].getEnveloped({});
  const start = () => (subscription ? enveloped.subscribe(args) : enveloped.execute(args));
  // A throw is an outcome too (graphql-js throws on a subscription whose root field is skipped).
  const result = await Promise.resolve()
    .then(start)
    .then(outcome, (error: unknown) => ({ threw: String(error) }));
  return { calls: [...calls].sort(), result };
}

const hasErrors = (result: unknown) =>
  typeof result === 'object' && result !== null && ('errors' in result || 'threw' in result);

const explain = (written: string) => (error: unknown) => {
  throw new Error(`${written}\nthrew: ${String(error)}`);
};

describe('compiled execution', () => {
  it('gives every resolver the same arguments and every document the same result as graphql-js', async () => {
    let valid = 0;
    let answered = 0;
    let recorded = 0;
    const contextValue: Context = {
      services: server.app.services,
      // An admin: a user who may also ask the support queries, so that most documents answer.
      viewer: { kind: 'user', userId: USER, admin: true },
    };
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (draw) => {
        const { source, variables, operationName } = randomOperation(draw, {
          // Cursors (this database's, and ones it did not issue) and names.
          strings: [...cursors, '0.0', 'nope', '', 'info'],
        });
        const document = parse(source);
        // Only valid documents reach execution in the app; an anonymous operation beside a
        // named one, or a field merge conflict, is refused before (graphql-js's validation
        // may even throw, on a directive with a variable on a subscription's root field).
        if (!isValid(document)) return;
        valid++;
        const args = { schema, document, variableValues: variables, operationName, contextValue };
        const written = `${source}\nvariables: ${JSON.stringify(variables)}`;
        const expected = await run('graphql-js', args).catch(explain(written));
        const actual = await run('compiled', args).catch(explain(written));
        expect(actual.result, written).toEqual(expected.result);
        if (!hasErrors(expected.result)) answered++;
        if (expected.calls.length > 0) recorded++;
        if (hasErrors(expected.result)) {
          // Once an error has nulled the response, graphql-js stops resolving and graphql-jit
          // goes on (some fields twice): the same response, more calls, each as graphql-js would.
          expect(new Set(actual.calls), written).toEqual(
            new Set([...actual.calls, ...expected.calls]),
          );
        } else {
          expect(actual.calls, written).toEqual(expected.calls);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Enough of them were executed for the property to mean something.
    expect({ valid, answered, recorded }).toEqual({
      // (75 %: the schema's input objects make some random documents invalid.)
      valid: expect.toSatisfy((n: number) => n > RUNS * 0.75) as number,
      answered: expect.toSatisfy((n: number) => n > RUNS * 0.4) as number,
      // The resolvers' calls were recorded: the comparison of arguments compared something.
      recorded: expect.toSatisfy((n: number) => n > RUNS * 0.4) as number,
    });
  });
});
