import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HistoryDocument,
  InboxDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { deleteDueNotifications } from '../src/notifications/retention.js';
import { follow, ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import type { Stream } from './helpers/stream.js';

// Counts are exact and cheap: markAllSeen writes a bounded number of rows at once whatever the
// number of public notifications, and public deletions and expiries move every live count
// without each subscriber querying the database. Every count a subscriber gets is compared with
// the unseenCount query and with the length of the list.

let server: TestServer;
const database = () => server.app.services.database;

beforeAll(async () => {
  server = await startTestServer({
    env: { RATE_LIMIT_MUTATIONS_PER_USER: '0', RATE_LIMIT_QUERIES_PER_USER: '0' },
  });
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
});
afterAll(() => server.stop());

type Followed = Stream<MyNotificationsSubscription>;
const lastEvent = (stream: Followed) => stream.results.at(-1)!.data!.myNotifications;

/** The user's unseenCount, checked against the list (which must not be truncated). */
async function countAndList(userId: string) {
  const { data, errors } = await server.request<{
    unseenCount: number;
    unseenNotifications: { id: string }[];
  }>(
    `query ($max: Int) { unseenNotifications(limit: $max) { id } unseenCount }`,
    { max: 1000 },
    userId,
  );
  expect(errors).toBeUndefined();
  const inbox = data!;
  if (inbox.unseenNotifications.length < 1000) {
    expect(inbox.unseenCount).toBe(inbox.unseenNotifications.length);
  }
  return inbox.unseenCount;
}

/** Public notifications written straight into the table, as a large backlog would be. */
async function seedPublic(count: number) {
  await database().$executeRaw`
    INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender,
      "deleteAt")
    SELECT 'info', 'NORMAL', false, true, 'backlog ' || g, 'seed', now() + interval '1 day'
    FROM generate_series(1, ${count}::int) g`;
}

/**
 * The reads this app's database client runs while `during` runs (a test seam on the real client:
 * every raw statement still runs). Statements that write (the send or deletion being tested)
 * and the snooze waker's look for due snoozes, once a second per instance, are left out: what
 * remains is what subscribers asked.
 */
async function readsDuring(during: () => Promise<void>) {
  const client = database() as unknown as { $queryRaw: (...args: unknown[]) => unknown };
  const original = client.$queryRaw;
  const reads: string[] = [];
  // A transaction's client finds this same property: it must run there, in the transaction.
  client.$queryRaw = function (this: unknown, ...args: unknown[]) {
    const [strings, ...values] = args as [TemplateStringsArray, ...unknown[]];
    const text = Prisma.sql(strings, ...values).text;
    if (!/INSERT INTO|DELETE FROM|"deleteAt" <= now\(\)|"snoozedUntil" <= now\(\)/.test(text)) {
      reads.push(text.trim().slice(0, 80));
    }
    return original.apply(this, args);
  };
  try {
    await during();
  } finally {
    client.$queryRaw = original;
  }
  return reads;
}

describe('markAllSeen', () => {
  it('marks 20,000 public notifications with one position, one receipt write per private one and one event, at once', async () => {
    await database()
      .$executeRaw`TRUNCATE "Notification", "Receipt", "Event", "Stream", "InboxState" CASCADE`;
    await seedPublic(20_000);
    for (const title of ['a', 'b', 'c']) {
      await send(server, { category: 'info', title, recipientIds: ['mia'] });
    }
    await send(server, { category: 'terms', title: 'public terms', public: true });
    await send(server, { category: 'terms', title: 'private terms', recipientIds: ['mia'] });
    expect(await countAndList('mia')).toBe(20_005);
    const tabs = await Promise.all([follow(server, 'mia'), follow(server, 'mia')]);
    const bystander = await follow(server, 'noah');

    const receiptsBefore = await database().receipt.count();
    const eventsBefore = await database().event.count();
    // Polls during the call see all of it or none of it.
    let marking = true;
    const polled: number[] = [];
    const polling = (async () => {
      while (marking)
        polled.push((await ok(server, InboxDocument, { limit: 1 }, 'mia')).unseenCount);
    })();
    const result = await server.request<{ markAllSeen: number }>(
      `mutation { markAllSeen }`,
      {},
      'mia',
    );
    marking = false;
    await polling;
    expect(result.data?.markAllSeen).toBe(20_005);
    expect(new Set(polled.filter((count) => count !== 20_005 && count !== 2))).toEqual(new Set());

    // Bounded writes: no receipt for any public one, one event, one position.
    expect(await database().receipt.count()).toBe(receiptsBefore);
    expect(await database().event.count()).toBe(eventsBefore + 1);
    expect(await database().event.findFirst({ orderBy: { id: 'desc' } })).toMatchObject({
      stream: 'user:mia',
      type: 'ALL_SEEN',
    });
    expect(await database().inboxState.count()).toBe(1);

    // Only the two require-ack ones still count; every tab says so, and so do the list and count.
    expect(await countAndList('mia')).toBe(2);
    for (const tab of tabs) {
      await tab.waitForCount(1);
      expect(lastEvent(tab)).toMatchObject({ type: 'ALL_SEEN', unseenCount: 2 });
    }
    const history = await ok(server, HistoryDocument, { first: 100 }, 'mia');
    const publicSeenAt = history.notifications.edges
      .filter((edge) => edge.node.public)
      .map((edge) => edge.node.seenAt);
    expect(publicSeenAt.length).toBeGreaterThan(50);
    expect(new Set(publicSeenAt).size).toBe(1);
    expect(publicSeenAt[0]).not.toBeNull();
    expect(await countAndList('noah')).toBe(20_001);
    expect(bystander.results).toHaveLength(0);

    // What comes next counts from there, live and in the query alike.
    await send(server, { category: 'info', title: 'after', public: true });
    for (const tab of [...tabs, bystander]) await tab.waitForCount(tab === bystander ? 1 : 2);
    expect(tabs.map((tab) => lastEvent(tab).unseenCount)).toEqual([3, 3]);
    expect(await countAndList('mia')).toBe(3);
    expect(lastEvent(bystander).unseenCount).toBe(await countAndList('noah'));
  }, 120_000);
});

describe('live counts of many subscribers', () => {
  const USERS = Array.from({ length: 12 }, (_, i) => `watcher-${i}`);

  it('move on a public deletion and on expiries by arithmetic, without a query per subscriber', async () => {
    const doomed = await send(server, { category: 'info', title: 'to delete', public: true });
    const streams = await Promise.all(USERS.map((user) => follow(server, user)));
    // Some saw the doomed one, some acknowledged nothing: their counts must move differently.
    for (const user of USERS.slice(0, 4)) {
      await server.request(
        `mutation ($ids: [ID!]!) { markSeen(ids: $ids) { id } }`,
        {
          ids: [doomed.notification.id],
        },
        user,
      );
    }
    await Promise.all(streams.slice(0, 4).map((stream) => stream.waitForCount(1)));
    const counted = await Promise.all(USERS.map(countAndList));

    await database().$executeRaw`
      UPDATE "Notification" SET "deleteAt" = now() WHERE id = ${doomed.notification.id}::uuid`;
    const deletion = await readsDuring(async () => {
      await deleteDueNotifications(server.app.services);
      await Promise.all(streams.map((stream, i) => stream.waitForCount(i < 4 ? 2 : 1)));
    });
    expect(deletion).toEqual([]);
    for (const [i, user] of USERS.entries()) {
      expect(lastEvent(streams[i]!)).toMatchObject({ type: 'DELETED' });
      expect(lastEvent(streams[i]!).unseenCount).toBe(counted[i]! - (i < 4 ? 0 : 1));
      expect(lastEvent(streams[i]!).unseenCount).toBe(await countAndList(user));
    }

    // One that expires: once it has, the next event's count leaves it out, again without a
    // query per subscriber.
    const expiresAt = new Date(Date.now() + 6000);
    await send(server, {
      category: 'info',
      title: 'to expire',
      public: true,
      expiresAt: expiresAt.toISOString(),
    });
    // And a private one to all of them that expires at the same moment (a broadcast).
    await send(server, {
      category: 'info',
      title: 'to expire too',
      recipientIds: USERS,
      expiresAt: expiresAt.toISOString(),
    });
    await Promise.all(streams.map((stream, i) => stream.waitForCount(i < 4 ? 4 : 3)));
    // Otherwise the counters never counted it, and its expiry would prove nothing.
    expect(Date.now(), 'still unexpired once every count has it').toBeLessThan(expiresAt.getTime());
    // Read every database count at once, and only trust them if they were all read before the
    // expiry: a count read after it rightly leaves the two out.
    const unexpired = await Promise.all(USERS.map(countAndList));
    expect(Date.now(), 'still unexpired once every database count is read').toBeLessThan(
      expiresAt.getTime(),
    );
    for (const [i] of USERS.entries()) {
      expect(lastEvent(streams[i]!).unseenCount).toBe(counted[i]! - (i < 4 ? 0 : 1) + 2);
      expect(lastEvent(streams[i]!).unseenCount).toBe(unexpired[i]);
    }
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 50));
    const expiry = await readsDuring(async () => {
      await send(server, { category: 'info', title: 'next', public: true });
      await Promise.all(streams.map((stream, i) => stream.waitForCount(i < 4 ? 5 : 4)));
    });
    expect(expiry).toEqual([]);
    for (const [i, user] of USERS.entries()) {
      expect(lastEvent(streams[i]!)).toMatchObject({ type: 'CREATED' });
      expect(lastEvent(streams[i]!).unseenCount).toBe(counted[i]! - (i < 4 ? 0 : 1) + 1);
      expect(lastEvent(streams[i]!).unseenCount).toBe(await countAndList(user));
    }
  }, 60_000);
});
