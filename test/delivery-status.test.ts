import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcknowledgeDocument,
  MarkAllSeenDocument,
  MarkSeenDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import { ADMIN, SERVICE, follow, ok, send, upsertCategory } from './helpers/operations.js';
import { TEST_API_KEY, startTestServer, type Auth, type TestServer } from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';

// After a send, its service learns who got it, saw it and acknowledged it (notificationStatus),
// and reports that a user saw it elsewhere (markSeenFor). A service sees only its own sends.

const OTHER_API_KEY = 'test-service-key-another-service-0123';
const OTHER: Auth = { apiKey: OTHER_API_KEY };

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    env: { SERVICE_API_KEYS: `${TEST_API_KEY},${OTHER_API_KEY}` },
  });
  await upsertCategory(server, { name: 'news' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
});
afterAll(() => server.stop());

type Status = {
  public: boolean;
  recipientCount: number | null;
  seenCount: number;
  acknowledgedCount: number;
  receipts: {
    nodes: { userId: string; seenAt: string | null; acknowledgedAt: string | null }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

/** The status as a service writes the query: inline id, an alias, fields in its own order. */
async function statusOf(id: string, auth: Auth = SERVICE, receipts = '(first: 10)') {
  const result = await server.request<{ it: Status }>(
    `{ it: notificationStatus(id: "${id}") {
        acknowledgedCount seenCount recipientCount public
        receipts${receipts} { nodes { userId seenAt acknowledgedAt } pageInfo { hasNextPage endCursor } }
      } }`,
    {},
    auth,
  );
  return result;
}

describe('notificationStatus', () => {
  it('counts recipients, seen and acknowledged of a private send, and pages its receipts by filter', async () => {
    const { notification } = await send(server, {
      category: 'terms',
      recipientIds: ['ann', 'bob', 'cat', 'dan'],
      title: 'New terms',
    });
    const id = notification.id;
    await ok(server, MarkSeenDocument, { ids: [id] }, 'bob');
    await ok(server, AcknowledgeDocument, { id }, 'cat');

    const status = await statusOf(id);
    expect(status.errors).toBeUndefined();
    expect(status.data!.it).toMatchObject({
      public: false,
      recipientCount: 4,
      seenCount: 2,
      acknowledgedCount: 1,
    });
    expect(status.data!.it.receipts.nodes.map((r) => r.userId)).toEqual([
      'ann',
      'bob',
      'cat',
      'dan',
    ]);

    const unseen = await statusOf(id, SERVICE, '(filter: { seen: false })');
    expect(unseen.data!.it.receipts.nodes.map((r) => r.userId)).toEqual(['ann', 'dan']);
    const acknowledged = await statusOf(id, SERVICE, '(filter: { acknowledged: true })');
    expect(acknowledged.data!.it.receipts.nodes).toEqual([
      { userId: 'cat', seenAt: expect.any(String), acknowledgedAt: expect.any(String) },
    ]);
    const page = await statusOf(id, SERVICE, '(first: 1, after: "ann", filter: { seen: true })');
    expect(page.data!.it.receipts.nodes.map((r) => r.userId)).toEqual(['bob']);
    expect(page.data!.it.receipts.pageInfo).toEqual({ hasNextPage: true, endCursor: 'bob' });

    // With a variable, as a generated client sends it; admins see any.
    const asAdmin = await server.request<{ notificationStatus: { seenCount: number } }>(
      'query Status($notification: ID!) { notificationStatus(id: $notification) { seenCount } }',
      { notification: id },
      ADMIN,
    );
    expect(asAdmin.data).toEqual({ notificationStatus: { seenCount: 2 } });
  });

  it('counts who saw a public send, by receipt or by markAllSeen, each once', async () => {
    const { notification } = await send(server, { category: 'news', public: true, title: 'Hello' });
    const id = notification.id;
    await ok(server, MarkSeenDocument, { ids: [id] }, 'eve');
    await ok(server, MarkAllSeenDocument, {}, 'eve');
    await ok(server, MarkAllSeenDocument, {}, 'fay');

    const status = await statusOf(id);
    expect(status.errors).toBeUndefined();
    expect(status.data!.it).toMatchObject({
      public: true,
      recipientCount: null,
      seenCount: 2,
      acknowledgedCount: 0,
    });
    expect(status.data!.it.receipts.nodes.map((r) => r.userId)).toEqual(['eve']);
  });

  it("answers NOT_FOUND for another service's send or an unknown id, and FORBIDDEN for a user", async () => {
    const { notification } = await send(server, {
      category: 'news',
      recipientIds: ['gus'],
      title: 'Mine',
    });
    expect((await statusOf(notification.id, OTHER)).errors?.[0]?.extensions?.code).toBe(
      'NOT_FOUND',
    );
    expect(
      (await statusOf('00000000-0000-4000-8000-000000000000')).errors?.[0]?.extensions?.code,
    ).toBe('NOT_FOUND');
    expect((await statusOf('not-an-id')).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await statusOf(notification.id, { userId: 'gus' })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
  });
});

const MARK_SEEN_FOR = `mutation SeenElsewhere($user: String!, $ids: [ID!]!) {
  markSeenFor(userId: $user, ids: $ids) { id seenAt }
}`;

describe('markSeenFor', () => {
  it('marks seen for the user: their devices get SEEN and the count drops, as if they had', async () => {
    const user = 'hal';
    const device = await follow<MyNotificationsSubscription>(server, user);
    const { notification } = await send(server, {
      category: 'news',
      recipientIds: [user],
      title: 'Your export',
    });
    await device.waitForCount(1);

    const result = await server.request<{ markSeenFor: { id: string; seenAt: string }[] }>(
      MARK_SEEN_FOR,
      { user, ids: [notification.id] },
      SERVICE,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.markSeenFor).toEqual([{ id: notification.id, seenAt: expect.any(String) }]);
    await device.waitForCount(2);
    const [created, seen] = device.results.map((result) => result.data!.myNotifications);
    expect(seen).toMatchObject({ type: 'SEEN', unseenCount: created!.unseenCount - 1 });
    expect(seen!.notification.id).toBe(notification.id);
    expect((await statusOf(notification.id)).data!.it.seenCount).toBe(1);
    device.close();
  });

  it("refuses another service's send, another user's, bad input and users, changing nothing", async () => {
    const mine = await send(server, { category: 'news', recipientIds: ['ivy'], title: 'a' });
    const before = await snapshotTables(server.databaseUrl);
    const code = async (variables: Record<string, unknown>, auth: Auth) =>
      (await server.request(MARK_SEEN_FOR, variables, auth)).errors?.[0]?.extensions?.code;

    expect(await code({ user: 'ivy', ids: [mine.notification.id] }, OTHER)).toBe('NOT_FOUND');
    expect(await code({ user: 'jon', ids: [mine.notification.id] }, SERVICE)).toBe('NOT_FOUND');
    expect(await code({ user: 'ivy', ids: ['nope'] }, SERVICE)).toBe('NOT_FOUND');
    expect(await code({ user: '', ids: [mine.notification.id] }, SERVICE)).toBe('BAD_USER_INPUT');
    expect(await code({ user: 'ivy', ids: [mine.notification.id] }, { userId: 'ivy' })).toBe(
      'FORBIDDEN',
    );
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);
  });
});
