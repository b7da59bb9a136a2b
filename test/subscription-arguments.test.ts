import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCursorDocument } from '../client/graphql.js';
import { ok, send, upsertCategory, userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { sseClient } from './helpers/sse.js';
import { Stream } from './helpers/stream.js';

// Subscriptions written the way users write them (GraphiQL, the README, generated clients) must
// all behave the same: the argument's value counts, not the name of the variable that carries it.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(() => server.stop());

interface Event {
  type: string;
  cursor: string;
  notification: { id: string };
}

/** The first result's event, whatever the root field's response key. */
async function firstEvent(stream: Stream<Record<string, Event>>): Promise<Event> {
  const [result] = await stream.waitForCount(1);
  expect(result!.errors).toBeUndefined();
  return Object.values(result!.data!)[0]!;
}

describe('myNotifications(after:) replays what was missed however the argument is written, over graphql-ws and SSE', () => {
  const shapes: [string, (cursor: string) => [string, Record<string, unknown>?]][] = [
    [
      'an inline literal',
      (cursor) => [
        `subscription { myNotifications(after: "${cursor}") { type cursor notification { id } } }`,
      ],
    ],
    [
      'a variable named $after',
      (cursor) => [
        'subscription Resume($after: String) { myNotifications(after: $after) { type cursor notification { id } } }',
        { after: cursor },
      ],
    ],
    [
      'a variable named $cursor',
      (cursor) => [
        'subscription Resume($cursor: String) { myNotifications(after: $cursor) { notification { id } type cursor } }',
        { cursor },
      ],
    ],
    [
      'an aliased root field with an inline literal',
      (cursor) => [
        `subscription { inbox: myNotifications(after: "${cursor}") { cursor type notification { id } } }`,
      ],
    ],
    [
      'an aliased root field with a variable and a fragment',
      (cursor) => [
        `subscription ($from: String!) { inbox: myNotifications(after: $from) { ...E } }
         fragment E on NotificationEvent { type cursor notification { id } }`,
        { from: cursor },
      ],
    ],
  ];

  for (const [shape, write] of shapes) {
    it(`with ${shape}`, async () => {
      const user = `resume-${shapes.findIndex(([name]) => name === shape)}`;
      const { eventCursor } = await ok(server, EventCursorDocument, {}, user);
      const missed = await send(server, {
        category: 'info',
        recipientIds: [user],
        title: 'missed',
      });
      const [query, variables] = write(eventCursor);
      const stream = new Stream<Record<string, Event>>(
        await userSocket(server, user),
        query,
        variables,
      );
      expect(await firstEvent(stream)).toMatchObject({
        type: 'CREATED',
        notification: { id: missed.notification.id },
      });
      // The same over Server-Sent Events.
      const overSse = new Stream<Record<string, Event>>(
        sseClient(server.url, { authorization: `Bearer ${await server.token(user)}` }),
        query,
        variables,
      );
      expect(await firstEvent(overSse)).toMatchObject({
        type: 'CREATED',
        notification: { id: missed.notification.id },
      });
      overSse.close();
    });
  }
});

describe('subscriptions without after go live at once', () => {
  it('myNotifications written inline without after receives the next send', async () => {
    const joined = joinOf('live-inline');
    const stream = new Stream<Record<string, Event>>(
      await userSocket(server, 'live-inline'),
      'subscription { myNotifications { type notification { id } } }',
    );
    await joined;
    const sent = await send(server, {
      category: 'info',
      recipientIds: ['live-inline'],
      title: 'x',
    });
    expect(await firstEvent(stream)).toMatchObject({
      type: 'CREATED',
      notification: { id: sent.notification.id },
    });
  });

  it('publicNotifications aliased, with a fragment, receives a public send', async () => {
    const joined = joinOf('live-public');
    const stream = new Stream<Record<string, Event>>(
      await userSocket(server, 'live-public'),
      `subscription Everyone { everyone: publicNotifications { ...E } }
       fragment E on NotificationEvent { type notification { id } }`,
    );
    await joined;
    const sent = await send(server, { category: 'info', public: true, title: 'for all' });
    expect(await firstEvent(stream)).toMatchObject({
      type: 'CREATED',
      notification: { id: sent.notification.id },
    });
  });
});

/**
 * Resolves once a subscription of `userId` has joined replay and live: whatever is sent from
 * then on is certain to be delivered (it is queued until the stream goes live). Fails after 5 s.
 */
function joinOf(userId: string): Promise<void> {
  const hooks = server.app.services.streamHooks;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      delete hooks.onStage;
      reject(new Error(`waited 5000 ms for a subscription of ${userId} to join`));
    }, 5000);
    hooks.onStage = (stage, who) => {
      if (stage !== 'replayed' || who !== userId) return;
      clearTimeout(timer);
      delete hooks.onStage;
      resolve();
    };
  });
}
