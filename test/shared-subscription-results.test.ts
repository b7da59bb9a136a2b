import fc from 'fast-check';
import { execute, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcknowledgeDocument, MarkAllSeenDocument, MarkSeenDocument } from '../client/graphql.js';
import { eventResults } from '../src/api/shared-subscription-results.js';
import { encodeCursor, eventsAfter } from '../src/notifications/event-log.js';
import { PUBLIC_STREAM, userStream, type StreamEvent } from '../src/notifications/types.js';
import { deliverable } from '../src/notifications/visibility.js';
import type { Delivery } from '../src/realtime/subscriber-view.js';
import type { Context } from '../src/schema/context.js';
import { schema } from '../src/schema/index.js';
import { ok, send, upsertCategory } from './helpers/operations.js';
import { isValid, randomOperation } from './helpers/random-documents.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// An event is executed once per document and shared by every subscriber given it, each result
// then carrying the subscriber's own cursor and unseenCount. For random subscription documents
// over the real schema (fields in any order, aliases, fragments, __typename, @include/@skip,
// variables of any name) and real events from a real log, every subscriber's result must be,
// byte for byte, what graphql-js gives when it executes that subscriber's delivery on its own.
// Fixed seed (SHARED_SEED to change it).

const SEED = Number(process.env.SHARED_SEED ?? 20261130);
const RUNS = Number(process.env.SHARED_RUNS ?? 300);
const USER = 'sam';

let server: TestServer;
/** One of each kind of event, as the log hands them to subscribers. */
let events: StreamEvent[];
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  const own = await send(server, { category: 'info', recipientIds: [USER], title: 'mine' });
  await send(server, { category: 'terms', public: true, title: 'everyone', body: 'b' });
  const terms = await send(server, {
    category: 'terms',
    recipientIds: [USER],
    title: 'sign',
    data: { version: 3 },
    actionUrl: 'https://example.com/terms',
  });
  await ok(server, MarkSeenDocument, { ids: [own.notification.id] }, USER);
  await ok(server, AcknowledgeDocument, { id: terms.notification.id }, USER);
  await ok(server, MarkAllSeenDocument, {}, USER);
  const logged = await eventsAfter(
    server.app.services.database,
    USER,
    [PUBLIC_STREAM, userStream(USER)],
    { public: 0n, user: 0n },
    100,
  );
  events = logged.filter((event) => deliverable(event));
  expect(new Set(events.map((event) => event.type))).toEqual(
    new Set(['CREATED', 'SEEN', 'ACKNOWLEDGED', 'ALL_SEEN']),
  );
});
afterAll(() => server.stop());

const contextValue = (): Context => ({
  services: server.app.services,
  viewer: { kind: 'user', userId: USER, admin: false },
});

/** Subscriber `index`'s delivery of `events`: its own cursor and count, the events shared. */
function delivery(index: number, delivered: StreamEvent[], digest: boolean): Delivery {
  return {
    type: digest ? 'DIGEST' : delivered[0]!.type,
    event: delivered.at(-1)!,
    events: digest ? delivered : [delivered[0]!],
    cursor: { public: BigInt(10 + index), user: BigInt(index * 7) },
    unseenCount: index * 3,
  };
}

const serialized = async (result: ExecutionResult | Promise<ExecutionResult>) =>
  JSON.stringify(await result);

describe('shared subscription results', () => {
  it('give every subscriber, byte for byte, what graphql-js gives for its own delivery', async () => {
    let shared = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.gen(),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        async (draw, eventIndex, digest) => {
          const { source, variables, operationName } = randomOperation(draw, {
            strings: [encodeCursor({ public: 1n, user: 2n }), '0.0', 'nope', ''],
            roots: ['subscription'],
          });
          const document = parse(source);
          if (!isValid(document)) return;
          const args: ExecutionArgs = {
            schema,
            document,
            variableValues: variables,
            operationName,
            contextValue: contextValue(),
          };
          // Three subscribers of one document (each with a context of its own), given one event.
          const subscribers = [0, 1, 2].map(() => {
            const own = { ...args, contextValue: contextValue() };
            return { args: own, results: eventResults(own) };
          });
          const delivered = digest
            ? events.slice(eventIndex, eventIndex + 2)
            : [events[eventIndex % events.length]!];
          const written = `${source}\nvariables: ${JSON.stringify(variables)}`;
          for (const [index, subscriber] of subscribers.entries()) {
            const payload = delivery(index, delivered, digest);
            const expected = await serialized(execute({ ...subscriber.args, rootValue: payload }));
            expect(subscriber.results, written).toBeDefined();
            const actual = await serialized(subscriber.results!(payload));
            expect(actual, written).toBe(expected);
          }
          if (!digest) shared++;
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(shared).toBeGreaterThan(RUNS * 0.3);
  });

  it('execute an event once for every subscriber of a document, whatever cursor each resumed from', async () => {
    const document = parse(
      `subscription Follow($from: String) {
        mine: myNotifications(after: $from) { unseenCount n: notification { title } type cursor }
      }`,
    );
    const subscriber = (from: string) => {
      const args = { schema, document, variableValues: { from }, contextValue: contextValue() };
      return eventResults(args)!;
    };
    const [first, second] = [subscriber('1.1'), subscriber('5.3')];
    const event = events.find((candidate) => candidate.type === 'CREATED')!;
    const one = (await first(delivery(1, [event], false))) as ExecutionResult;
    const two = (await second(delivery(2, [event], false))) as ExecutionResult;
    expect(JSON.stringify(one.data)).toBe(
      `{"mine":{"unseenCount":3,"n":{"title":"${event.notification.title}"},"type":"CREATED","cursor":"11.7"}}`,
    );
    expect(JSON.stringify(two.data)).toBe(
      `{"mine":{"unseenCount":6,"n":{"title":"${event.notification.title}"},"type":"CREATED","cursor":"12.14"}}`,
    );
    // One execution: the notification's part of the result is the very same object.
    const notificationOf = (result: ExecutionResult) =>
      (result.data!.mine as Record<string, unknown>).n;
    expect(notificationOf(two)).toBe(notificationOf(one));
  });
});
