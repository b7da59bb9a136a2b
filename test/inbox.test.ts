import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AcknowledgeDocument,
  HistoryDocument,
  InboxDocument,
  MarkAllSeenDocument,
  MarkSeenDocument,
  UnseenNotificationsDocument,
  type HistoryQuery,
  type SendNotificationInput,
} from '../client/graphql.js';
import { errorCode, ok, run, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Steps 2-4 as queries and mutations: what a user's inbox lists, how history pages, and how
// markSeen, markAllSeen and acknowledge change it (all or nothing, and only for the caller).

let server: TestServer;
const database = () => server.app.services.database;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true, priority: 'HIGH' });
});
afterAll(() => server.stop());

// Public notifications are everyone's: start each test from an empty store so one test's
// public sends do not show up in the next one's inbox.
beforeEach(async () => {
  await database().$executeRaw`TRUNCATE "Notification", "Receipt", "Event", "Stream" CASCADE`;
});

async function sendTo(recipients: string[] | 'public', title: string, extra = {}) {
  const audience: Partial<SendNotificationInput> =
    recipients === 'public' ? { public: true } : { recipientIds: recipients };
  const sent = await send(server, { category: 'info', title, ...audience, ...extra });
  return sent.notification.id;
}

/** The user's unseen ids, newest first; checks unseenCount agrees with the list every time. */
async function unseen(userId: string) {
  const inbox = await ok(server, InboxDocument, {}, userId);
  expect(inbox.unseenCount).toBe(inbox.unseenNotifications.length);
  return inbox.unseenNotifications.map((n) => n.id);
}

/** Every receipt, in a stable order: what "changes nothing" is checked against. */
const receipts = () =>
  database().receipt.findMany({ orderBy: [{ userId: 'asc' }, { notificationId: 'asc' }] });

const notFoundId = '00000000-0000-4000-8000-000000000000';

describe('unseenNotifications and unseenCount', () => {
  it("lists the user's private and all public notifications newest first, not other users' private ones", async () => {
    const aliceOnly = await sendTo(['alice'], 'for alice');
    const everyone = await sendTo('public', 'for everyone');
    const bobOnly = await sendTo(['bob'], 'for bob');
    const both = await sendTo(['alice', 'bob'], 'for both');

    expect(await unseen('alice')).toEqual([both, everyone, aliceOnly]);
    expect(await unseen('bob')).toEqual([both, bobOnly, everyone]);
    expect(await unseen('someone-new')).toEqual([everyone]);
  });

  it('stops listing private and public notifications once they expire', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const lasting = await sendTo(['alice'], 'lasting');
    const shortPrivate = await sendTo(['alice'], 'short private', { expiresAt });
    const shortPublic = await sendTo('public', 'short public', { expiresAt });
    expect(await unseen('alice')).toEqual([shortPublic, shortPrivate, lasting]);

    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 100));
    expect(await unseen('alice')).toEqual([lasting]);
  });

  it('drops seen notifications but keeps seen require-ack ones until they are acknowledged', async () => {
    const plain = await sendTo(['alice'], 'plain');
    const terms = await sendTo(['alice'], 'new terms', { category: 'terms' });
    const publicTerms = await sendTo('public', 'public terms', { category: 'terms' });
    expect(await unseen('alice')).toEqual([publicTerms, terms, plain]);

    await ok(server, MarkSeenDocument, { ids: [plain, terms, publicTerms] }, 'alice');
    const inbox = await ok(server, InboxDocument, {}, 'alice');
    expect(
      inbox.unseenNotifications.map((n) => [n.id, n.seenAt !== null, n.acknowledgedAt]),
    ).toEqual([
      [publicTerms, true, null],
      [terms, true, null],
    ]);
    expect(inbox.unseenCount).toBe(2);

    const acknowledged = await ok(server, AcknowledgeDocument, { id: terms }, 'alice');
    expect(acknowledged.acknowledge.acknowledgedAt).not.toBeNull();
    expect(await unseen('alice')).toEqual([publicTerms]);

    await ok(server, AcknowledgeDocument, { id: publicTerms }, 'alice');
    expect(await unseen('alice')).toEqual([]);
    // Bob never acted on the public one: it is still waiting for him.
    expect(await unseen('bob')).toEqual([publicTerms]);
  });
});

describe('notifications (history)', () => {
  it('pages through the whole history, seen ones included, newest first without overlap', async () => {
    const sentOldestFirst: string[] = [];
    for (let index = 0; index < 7; index++) {
      sentOldestFirst.push(await sendTo(index % 3 === 1 ? 'public' : ['alice'], `n${index}`));
      await sendTo(['bob'], `bob's ${index}`);
    }
    const newestFirst = sentOldestFirst.toReversed();
    const seen = [newestFirst[0]!, newestFirst[3]!, newestFirst[6]!];
    await ok(server, MarkSeenDocument, { ids: seen }, 'alice');

    const pages: { ids: string[]; hasNextPage: boolean; endCursor: string | null }[] = [];
    let after: string | null = null;
    do {
      const { notifications }: HistoryQuery = await ok(
        server,
        HistoryDocument,
        { first: 3, after },
        'alice',
      );
      const ids = notifications.edges.map((edge) => edge.node.id);
      expect(notifications.pageInfo.endCursor).toBe(notifications.edges.at(-1)?.cursor);
      pages.push({ ids, ...notifications.pageInfo });
      after = notifications.pageInfo.hasNextPage ? notifications.pageInfo.endCursor : null;
    } while (after !== null && pages.length < 10);

    expect(pages.map((page) => [page.ids.length, page.hasNextPage])).toEqual([
      [3, true],
      [3, true],
      [1, false],
    ]);
    expect(pages.flatMap((page) => page.ids)).toEqual(newestFirst);

    const { notifications: all } = await ok(server, HistoryDocument, { first: 100 }, 'alice');
    expect(
      all.edges.filter((edge) => edge.node.seenAt !== null).map((edge) => edge.node.id),
    ).toEqual(seen);

    // A page that ends exactly at the oldest notification has nothing after it.
    const exact = await ok(server, HistoryDocument, { first: 7 }, 'alice');
    expect(exact.notifications.pageInfo.hasNextPage).toBe(false);
    const short = await ok(server, HistoryDocument, { first: 6 }, 'alice');
    expect(short.notifications.pageInfo.hasNextPage).toBe(true);

    const { notifications: past } = await ok(
      server,
      HistoryDocument,
      { first: 3, after: pages[2]!.endCursor },
      'alice',
    );
    expect(past).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

describe('markSeen', () => {
  it('records a public notification as seen for that user only', async () => {
    const everyone = await sendTo('public', 'maintenance');
    const { markSeen } = await ok(server, MarkSeenDocument, { ids: [everyone] }, 'alice');
    expect(markSeen).toHaveLength(1);
    expect(markSeen[0]!.seenAt).not.toBeNull();

    const rows = await database().receipt.findMany({ where: { notificationId: everyone } });
    expect(rows.map((row) => [row.userId, row.seenAt?.toISOString(), row.acknowledgedAt])).toEqual([
      ['alice', markSeen[0]!.seenAt, null],
    ]);
    expect(await unseen('alice')).toEqual([]);
    expect(await unseen('bob')).toEqual([everyone]);
  });

  it('is idempotent: marking again keeps the first seenAt and logs no second SEEN', async () => {
    const mine = await sendTo(['alice'], 'once');
    const first = await ok(server, MarkSeenDocument, { ids: [mine] }, 'alice');
    const firstSeenAt = first.markSeen[0]!.seenAt;
    expect(firstSeenAt).not.toBeNull();

    const second = await ok(server, MarkSeenDocument, { ids: [mine, mine] }, 'alice');
    expect(second.markSeen.map((n) => [n.id, n.seenAt])).toEqual([
      [mine, firstSeenAt],
      [mine, firstSeenAt],
    ]);
    const row = await database().receipt.findUniqueOrThrow({
      where: { userId_notificationId: { userId: 'alice', notificationId: mine } },
    });
    expect(row.seenAt?.toISOString()).toBe(firstSeenAt);
    expect(await database().event.count({ where: { notificationId: mine, type: 'SEEN' } })).toBe(1);
  });

  it("refuses ids including another user's notification with NOT_FOUND and marks none of them", async () => {
    const mine = await sendTo(['alice'], 'mine');
    const everyone = await sendTo('public', 'everyone');
    const bobs = await sendTo(['bob'], 'Bob: your salary review', { body: 'confidential' });
    const before = await receipts();
    const eventsBefore = await database().event.count();

    const result = await run(server, MarkSeenDocument, { ids: [mine, everyone, bobs] }, 'alice');
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(result.data).toBeNull();
    // The error names only the id the caller gave, nothing of Bob's.
    expect(JSON.stringify(result)).not.toMatch(/salary|confidential|bob/i);

    expect(await receipts()).toEqual(before);
    expect(before.every((receipt) => receipt.seenAt === null)).toBe(true);
    expect(await database().event.count()).toBe(eventsBefore);
    expect(await unseen('alice')).toEqual([everyone, mine]);
  });

  it.each([
    ['a malformed id', 'not-a-uuid'],
    ['an id no notification has', notFoundId],
  ])('refuses %s with NOT_FOUND and changes nothing', async (_name, id) => {
    const mine = await sendTo(['alice'], 'mine');
    const before = await receipts();
    expect(await errorCode(server, MarkSeenDocument, { ids: [mine, id] }, 'alice')).toBe(
      'NOT_FOUND',
    );
    expect(await receipts()).toEqual(before);
    expect(await unseen('alice')).toEqual([mine]);
  });
});

describe('acknowledge', () => {
  it("refuses another user's notification with NOT_FOUND and changes nothing", async () => {
    const bobs = await sendTo(['bob'], 'Bob: accept the new contract', {
      category: 'terms',
      body: 'confidential',
    });
    const before = await receipts();
    const eventsBefore = await database().event.count();

    const result = await run(server, AcknowledgeDocument, { id: bobs }, 'alice');
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(JSON.stringify(result)).not.toMatch(/contract|confidential|bob/i);
    expect(await receipts()).toEqual(before);
    expect(await database().event.count()).toBe(eventsBefore);
    expect(await unseen('bob')).toEqual([bobs]);
  });

  it('refuses a notification whose category does not require it with BAD_USER_INPUT', async () => {
    const plain = await sendTo(['alice'], 'plain');
    const before = await receipts();
    expect(await errorCode(server, AcknowledgeDocument, { id: plain }, 'alice')).toBe(
      'BAD_USER_INPUT',
    );
    expect(await receipts()).toEqual(before);
    expect(await unseen('alice')).toEqual([plain]);
  });
});

describe('markAllSeen', () => {
  it('marks every unseen notification of the caller and returns how many', async () => {
    const first = await sendTo(['alice'], 'one');
    const second = await sendTo(['alice', 'bob'], 'two');
    const everyone = await sendTo('public', 'three');
    await sendTo(['bob'], 'not alice');
    await ok(server, MarkSeenDocument, { ids: [first] }, 'alice');

    expect((await ok(server, MarkAllSeenDocument, {}, 'alice')).markAllSeen).toBe(2);
    expect(await unseen('alice')).toEqual([]);
    // Private ones by their receipts; public ones by alice's position, without a receipt each.
    const alices = await database().receipt.findMany({ where: { userId: 'alice' } });
    expect(alices.map((r) => r.notificationId).sort()).toEqual([first, second].sort());
    expect(alices.every((r) => r.seenAt !== null)).toBe(true);
    const seen = (await ok(server, HistoryDocument, {}, 'alice')).notifications.edges;
    expect(seen.map((edge) => [edge.node.id, edge.node.seenAt !== null])).toEqual([
      [everyone, true],
      [second, true],
      [first, true],
    ]);
    // Bob's receipts are untouched.
    const bobs = await database().receipt.findMany({ where: { userId: 'bob' } });
    expect(bobs.map((r) => r.seenAt)).toEqual([null, null]);

    expect((await ok(server, MarkAllSeenDocument, {}, 'alice')).markAllSeen).toBe(0);
  });

  it('counts require-ack notifications as marked but keeps them until acknowledged', async () => {
    const plain = await sendTo(['alice'], 'plain');
    const terms = await sendTo(['alice'], 'terms', { category: 'terms' });
    expect(await unseen('alice')).toEqual([terms, plain]);

    expect((await ok(server, MarkAllSeenDocument, {}, 'alice')).markAllSeen).toBe(2);
    expect(await unseen('alice')).toEqual([terms]);
    expect((await ok(server, MarkAllSeenDocument, {}, 'alice')).markAllSeen).toBe(0);
  });
});

describe('arguments out of range', () => {
  const history = (variables: { first?: number; after?: string }) => () =>
    run(server, HistoryDocument, variables, 'alice');
  const unseenList = (limit: number) => () =>
    run(server, UnseenNotificationsDocument, { limit }, 'alice');

  it.each([
    ['notifications after a cursor this server never issued', history({ after: 'abc' })],
    ['notifications after a negative cursor', history({ after: '-1' })],
    ['notifications first: 0', history({ first: 0 })],
    ['notifications first: -1', history({ first: -1 })],
    ['notifications first: 101', history({ first: 101 })],
    ['unseenNotifications limit: 0', unseenList(0)],
    ['unseenNotifications limit: 1001', unseenList(1001)],
  ])('refuses %s with BAD_USER_INPUT', async (_name, request) => {
    const result = await request();
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.data).toBeNull();
  });

  it('accepts the largest first and limit', async () => {
    const mine = await sendTo(['alice'], 'mine');
    const history = await ok(server, HistoryDocument, { first: 100 }, 'alice');
    expect(history.notifications.edges.map((edge) => edge.node.id)).toEqual([mine]);
    const inbox = await ok(server, UnseenNotificationsDocument, { limit: 1000 }, 'alice');
    expect(inbox.unseenNotifications.map((n) => n.id)).toEqual([mine]);
  });
});
