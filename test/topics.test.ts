import type { Client } from 'graphql-ws';
import type { MyNotificationsSubscription } from '../client/graphql.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairForTests } from './helpers/cluster.js';
import { follow, send, SERVICE, upsertCategory, userSocket } from './helpers/operations.js';
import { startTestServer, type Auth, type TestServer } from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';
import type { Stream } from './helpers/stream.js';
import { sleep } from './helpers/wait.js';

// Topics, the third audience: users join them (or services put them in), and a send to a topic
// reaches its members as they are when it is stored, each as a private notification.

const MAX_MEMBERS = 50;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { TOPIC_MAX_MEMBERS: String(MAX_MEMBERS) } });
  await upsertCategory(server, { name: 'general' });
});
afterAll(() => server.stop());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- operations here are written inline, as users write them
type Data = Record<string, any>;
async function ok(query: string, variables: Record<string, unknown>, auth?: Auth, on = server) {
  const result = await on.request<Data>(query, variables, auth);
  if (result.errors || !result.data) throw new Error(JSON.stringify(result.errors));
  return result.data;
}
async function codeOf(query: string, variables: Record<string, unknown>, auth?: Auth) {
  const result = await server.request(query, variables, auth);
  return result.errors?.[0]?.extensions?.code as string | undefined;
}

const ADD = `mutation Add($t: String!, $ids: [ID!]!) { addTopicMembers(topic: $t, userIds: $ids) { changed memberCount } }`;
const REMOVE = `mutation Remove($t: String!, $ids: [ID!]!) { removeTopicMembers(topic: $t, userIds: $ids) { changed memberCount } }`;
const SEND = `mutation Send($input: SendNotificationInput!) { sendNotification(input: $input) { recipientCount notification { id title } } }`;
const MEMBERS = `query Members($t: String!, $first: Int, $after: String) {
  topicMembers(topic: $t, first: $first, after: $after) { userIds pageInfo { hasNextPage endCursor } }
}`;

const sendToTopic = async (topic: string, title: string, on = server) =>
  (await ok(SEND, { input: { category: 'general', topic, title } }, SERVICE, on))
    .sendNotification as { recipientCount: number; notification: { id: string; title: string } };

const receiptsOf = async (notificationId: string) =>
  (
    await server.app.services.database.receipt.findMany({
      where: { notificationId },
      orderBy: { userId: 'asc' },
    })
  ).map((receipt) => receipt.userId);

const titles = (stream: Stream<MyNotificationsSubscription>) =>
  stream.results.map((result) => result.data!.myNotifications.notification.title);

/** One operation over a graphql-ws client, as an app would run a mutation on its socket. */
function overSocket(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<Data>((resolve, reject) => {
    let result: Data | undefined;
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = value as Data),
        error: reject,
        complete: () => resolve(result!),
      },
    );
  });
}

describe('a send to a topic', () => {
  it('reaches those who joined before it, not those who left before or joined after', async () => {
    await ok(ADD, { t: 'releases', ids: ['ann', 'ben', 'cat'] }, SERVICE);
    await ok(REMOVE, { t: 'releases', ids: ['ben'] }, SERVICE);
    const ann = await follow(server, 'ann');
    const ben = await follow(server, 'ben');

    const sent = await sendToTopic('releases', 'Version 2 is out');
    expect(sent.recipientCount).toBe(2);
    expect(await receiptsOf(sent.notification.id)).toEqual(['ann', 'cat']);
    await ok(ADD, { t: 'releases', ids: ['dan'] }, SERVICE);

    await ann.waitForCount(1);
    expect(ann.results[0]!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      notification: { id: sent.notification.id, title: 'Version 2 is out' },
    });
    for (const user of ['ann', 'cat']) {
      const { unseenNotifications, unseenCount } = await ok(
        `{ unseenNotifications { id } unseenCount }`,
        {},
        user,
      );
      expect(unseenNotifications).toEqual([{ id: sent.notification.id }]);
      expect(unseenCount).toBe(1);
    }
    for (const user of ['ben', 'dan']) {
      const { unseenCount } = await ok(`{ unseenCount }`, {}, user);
      expect(unseenCount).toBe(0);
    }
    // Ben hears what is sent to him after it, and nothing of it.
    await send(server, { category: 'general', recipientIds: ['ben'], title: 'Just for Ben' });
    await ben.waitForCount(1);
    await sleep(200);
    expect(titles(ben)).toEqual(['Just for Ben']);
    // Ann's copy is hers like any private one: marked seen, it leaves her count.
    await ok(`mutation { markSeen(ids: ["${sent.notification.id}"]) { id } }`, {}, 'ann');
    expect((await ok(`{ unseenCount }`, {}, 'ann')).unseenCount).toBe(0);
    expect((await ok(`{ unseenCount }`, {}, 'cat')).unseenCount).toBe(1);
    ann.close();
    ben.close();
  });

  it('to a topic without members is stored, reaching nobody: recipientCount 0', async () => {
    const sent = await sendToTopic('nobody-here', 'Anyone?');
    expect(sent.recipientCount).toBe(0);
    const stored = await server.app.services.database.notification.findUnique({
      where: { id: sent.notification.id },
    });
    expect(stored?.title).toBe('Anyone?');
    expect(await receiptsOf(sent.notification.id)).toEqual([]);
  });

  it('refuses two audiences, or none, with BAD_USER_INPUT, storing nothing', async () => {
    const before = await snapshotTables(server.databaseUrl);
    const inputs = [
      { category: 'general', title: 'x', topic: 'releases', recipientIds: ['ann'] },
      { category: 'general', title: 'x', topic: 'releases', public: true },
      { category: 'general', title: 'x' },
      { category: 'general', title: 'x', topic: '' },
      { category: 'general', title: 'x', topic: 't'.repeat(256) },
      { category: 'general', title: 'x', topic: 'releases', groupKey: 'g' },
    ];
    for (const input of inputs) {
      const result = await server.request(SEND, { input }, SERVICE);
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    const twice = await server.request(
      `mutation { sendNotification(input: { category: "general", title: "x", topic: "releases", public: true }) { recipientCount } }`,
      {},
      SERVICE,
    );
    expect(twice.errors?.[0]?.message).toMatch(/exactly one of recipientIds, public or topic/);
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);
  });
});

describe('a batch with a topic send', () => {
  const BATCH = `mutation Batch($inputs: [SendNotificationInput!]!) {
    sendNotifications(inputs: $inputs) { recipientCount notification { id } }
  }`;

  it('stores a topic send beside the others, each answered with its own count', async () => {
    await ok(ADD, { t: 'batch-topic', ids: ['bt1', 'bt2', 'bt3'] }, SERVICE);
    const { sendNotifications } = await ok(
      BATCH,
      {
        inputs: [
          { category: 'general', recipientIds: ['bt1', 'solo'], title: 'Listed' },
          { category: 'general', topic: 'batch-topic', title: 'To the topic' },
        ],
      },
      SERVICE,
    );
    expect(sendNotifications.map((r: { recipientCount: number }) => r.recipientCount)).toEqual([
      2, 3,
    ]);
    expect(await receiptsOf(sendNotifications[1].notification.id)).toEqual(['bt1', 'bt2', 'bt3']);
    expect((await ok(`{ unseenCount }`, {}, 'bt1')).unseenCount).toBe(2);
  });

  it('refuses two topic sends in one batch, storing nothing', async () => {
    const before = await snapshotTables(server.databaseUrl);
    const inputs = [
      { category: 'general', topic: 'batch-topic', title: 'One' },
      { category: 'general', topic: 'releases', title: 'Two' },
    ];
    const result = await server.request(BATCH, { inputs }, SERVICE);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/one topic send per batch/);
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);
  });
});

describe('membership', () => {
  it('lets a signed-in user subscribe and unsubscribe over their socket', async () => {
    const socket = await userSocket(server, 'eve');
    const joined = await overSocket(socket, `mutation { joined: subscribeToTopic(topic: "news") }`);
    expect(joined.data).toEqual({ joined: true });
    const again = await overSocket(
      socket,
      `mutation J($x: String!) { subscribeToTopic(topic: $x) }`,
      {
        x: 'news',
      },
    );
    expect(again.data).toEqual({ subscribeToTopic: false });
    const mine = await overSocket(socket, `{ topics { nodes { name memberCount } } }`);
    expect(mine.data!.topics.nodes).toEqual([{ name: 'news', memberCount: null }]);
    expect((await sendToTopic('news', 'Morning news')).recipientCount).toBe(1);

    const left = await overSocket(socket, `mutation { unsubscribeFromTopic(topic: "news") }`);
    expect(left.data).toEqual({ unsubscribeFromTopic: true });
    expect((await sendToTopic('news', 'Evening news')).recipientCount).toBe(0);
    const none = await overSocket(socket, `{ topics { nodes { name } } }`);
    expect(none.data!.topics.nodes).toEqual([]);
    await socket.dispose();
  });

  it('lets a service add and remove members, counting what changed', async () => {
    const added = await ok(ADD, { t: 'staff', ids: ['u1', 'u2', 'u2', 'u3'] }, SERVICE);
    expect(added.addTopicMembers).toEqual({ changed: 3, memberCount: 3 });
    const again = await ok(ADD, { t: 'staff', ids: ['u3', 'u4'] }, SERVICE);
    expect(again.addTopicMembers).toEqual({ changed: 1, memberCount: 4 });
    const removed = await ok(REMOVE, { t: 'staff', ids: ['u1', 'nobody'] }, SERVICE);
    expect(removed.removeTopicMembers).toEqual({ changed: 1, memberCount: 3 });
    const { topicMembers } = await ok(MEMBERS, { t: 'staff' }, SERVICE);
    expect(topicMembers.userIds).toEqual(['u2', 'u3', 'u4']);
  });

  it('pages topicMembers in user id order', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    await ok(ADD, { t: 'paged', ids: [...ids].reverse() }, SERVICE);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { topicMembers } = await ok(MEMBERS, { t: 'paged', first: 10, after }, SERVICE);
      seen.push(...topicMembers.userIds);
      if (!topicMembers.pageInfo.hasNextPage) break;
      after = topicMembers.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
  });

  it('lists all topics with member counts for a service, paged by name', async () => {
    await ok(ADD, { t: 'zz-last', ids: ['x'] }, SERVICE);
    const first = await ok(
      `{ topics(first: 2) { nodes { name memberCount } pageInfo { hasNextPage endCursor } } }`,
      {},
      SERVICE,
    );
    expect(first.topics.nodes).toHaveLength(2);
    expect(first.topics.pageInfo.hasNextPage).toBe(true);
    const all: { name: string; memberCount: number }[] = [...first.topics.nodes];
    let after = first.topics.pageInfo.endCursor as string;
    for (;;) {
      const page = await ok(
        `query P($a: String) { topics(first: 2, after: $a) { nodes { name memberCount } pageInfo { hasNextPage endCursor } } }`,
        { a: after },
        SERVICE,
      );
      all.push(...page.topics.nodes);
      if (!page.topics.pageInfo.hasNextPage) break;
      after = page.topics.pageInfo.endCursor;
    }
    const names = all.map((topic) => topic.name);
    expect(names).toEqual([...names].sort());
    expect(all).toContainEqual({ name: 'zz-last', memberCount: 1 });
    // A topic whose last member left is gone from the list.
    await ok(REMOVE, { t: 'zz-last', ids: ['x'] }, SERVICE);
    const after2 = await ok(`{ topics(first: 100) { nodes { name } } }`, {}, SERVICE);
    expect(after2.topics.nodes.map((t: { name: string }) => t.name)).not.toContain('zz-last');
  });

  it('refuses bad names, too many ids and a full topic with a code, changing nothing', async () => {
    await ok(
      ADD,
      { t: 'full', ids: Array.from({ length: MAX_MEMBERS - 1 }, (_, i) => `f${i}`) },
      SERVICE,
    );
    const before = await snapshotTables(server.databaseUrl);
    const cases: [string, Record<string, unknown>, Auth, string][] = [
      [ADD, { t: '', ids: ['a'] }, SERVICE, 'BAD_USER_INPUT'],
      [ADD, { t: 'x'.repeat(256), ids: ['a'] }, SERVICE, 'BAD_USER_INPUT'],
      [ADD, { t: 'ok', ids: [] }, SERVICE, 'BAD_USER_INPUT'],
      [ADD, { t: 'ok', ids: [''] }, SERVICE, 'BAD_USER_INPUT'],
      [
        ADD,
        { t: 'ok', ids: Array.from({ length: 10_001 }, (_, i) => `m${i}`) },
        SERVICE,
        'BAD_USER_INPUT',
      ],
      [
        REMOVE,
        { t: 'ok', ids: Array.from({ length: 10_001 }, (_, i) => `m${i}`) },
        SERVICE,
        'BAD_USER_INPUT',
      ],
      [`mutation { subscribeToTopic(topic: "") }`, {}, 'ann', 'BAD_USER_INPUT'],
      [MEMBERS, { t: 'full', first: 0 }, SERVICE, 'BAD_USER_INPUT'],
      [MEMBERS, { t: 'full', first: 1001 }, SERVICE, 'BAD_USER_INPUT'],
      [ADD, { t: 'full', ids: ['f-new-1', 'f-new-2'] }, SERVICE, 'TOPIC_MEMBER_LIMIT'],
    ];
    for (const [query, variables, auth, code] of cases) {
      expect(await codeOf(query, variables, auth), JSON.stringify(variables).slice(0, 80)).toBe(
        code,
      );
    }
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);
    // One more still fits.
    expect(
      (await ok(ADD, { t: 'full', ids: ['f-last'] }, SERVICE)).addTopicMembers.memberCount,
    ).toBe(MAX_MEMBERS);
    expect(await codeOf(`mutation { subscribeToTopic(topic: "full") }`, {}, 'ann')).toBe(
      'TOPIC_MEMBER_LIMIT',
    );
  });

  it('keeps the member count exact and within the limit under concurrent changes', async () => {
    const calls = Array.from({ length: 10 }, (_, call) =>
      server.request(
        ADD,
        { t: 'crowded', ids: Array.from({ length: 10 }, (_, i) => `c${call}-${i}`) },
        SERVICE,
      ),
    );
    const leaves = Array.from({ length: 5 }, (_, call) =>
      server.request(REMOVE, { t: 'crowded', ids: [`c${call}-0`] }, SERVICE),
    );
    const results = await Promise.all([...calls, ...leaves]);
    const codes = results.map((result) => result.errors?.[0]?.extensions?.code ?? 'ok');
    expect(codes.filter((code) => code === 'ok').length).toBeGreaterThanOrEqual(5 + 5);
    expect(codes.every((code) => code === 'ok' || code === 'TOPIC_MEMBER_LIMIT')).toBe(true);
    const database = server.app.services.database;
    const stored = await database.topicMember.count({ where: { topic: 'crowded' } });
    const topic = await database.topic.findUniqueOrThrow({ where: { name: 'crowded' } });
    expect(topic.memberCount).toBe(stored);
    expect(stored).toBeLessThanOrEqual(MAX_MEMBERS);
  });

  it('keeps the service fields to services and the user fields to users', async () => {
    expect(await codeOf(ADD, { t: 'staff', ids: ['ann'] }, 'ann')).toBe('FORBIDDEN');
    expect(await codeOf(REMOVE, { t: 'staff', ids: ['u2'] }, 'ann')).toBe('FORBIDDEN');
    expect(await codeOf(MEMBERS, { t: 'staff' }, 'ann')).toBe('FORBIDDEN');
    expect(await codeOf(`mutation { subscribeToTopic(topic: "staff") }`, {}, SERVICE)).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(`mutation { unsubscribeFromTopic(topic: "staff") }`, {}, SERVICE)).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(`{ topics { nodes { name } } }`, {})).toBe('UNAUTHENTICATED');
  });
});

describe('a large topic across instances', () => {
  const pair = pairForTests({ categories: [{ name: 'general' }] }, 60_000);

  it('stores every member copy before answering and delivers each online member one', async () => {
    const { a: first, b: second } = pair;
    const members = Array.from({ length: 20_000 }, (_, i) => `big${String(i).padStart(5, '0')}`);
    for (let i = 0; i < members.length; i += 10_000) {
      await ok(ADD, { t: 'everyone', ids: members.slice(i, i + 10_000) }, SERVICE, first);
    }
    const online = ['big00000', 'big07777', 'big19999', 'big12345'];
    const streams = await Promise.all(
      online.map((user, i) => follow(i % 2 === 0 ? first : second, user)),
    );

    const sent = await sendToTopic('everyone', 'All hands', first);
    expect(sent.recipientCount).toBe(20_000);
    // Counted on a connection of its own, right after the answer: all is committed.
    const client = new pg.Client({ connectionString: pair.database.url });
    await client.connect();
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM "Receipt" WHERE "notificationId" = $1',
      [sent.notification.id],
    );
    await client.end();
    expect(Number(rows[0]!.n)).toBe(20_000);

    await Promise.all(streams.map((stream) => stream.waitForCount(1, 15_000)));
    await sleep(500);
    for (const stream of streams) {
      expect(titles(stream)).toEqual(['All hands']);
      stream.close();
    }
  }, 60_000);
});
