import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  SendNotificationsDocument,
  type MyNotificationsSubscription,
  type SendNotificationInput,
} from '../client/graphql.js';
import { query } from './helpers/pg-query.js';
import { SERVICE, follow, ok, run, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import type { Stream } from './helpers/stream.js';

// sendNotifications: a batch stored whole before any answer, one result per input in order;
// and sendNotification's group commit: concurrent sends stored together, each answered only
// once its own is stored, delivered once, and one bad send failing alone.

const MAX_BATCH = 50;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      MAX_SENDS_PER_BATCH: String(MAX_BATCH),
      RATE_LIMIT_MUTATIONS_PER_API_KEY: '0',
    },
  });
  await upsertCategory(server, { name: 'batch' });
  await upsertCategory(server, { name: 'urgent', priority: 'URGENT', requireAck: true });
});
afterAll(() => server.stop());

const rows = <T>(sql: string, values: unknown[] = []) => query<T>(server.databaseUrl, sql, values);
const countOf = async (table: string, where = 'true', values: unknown[] = []) =>
  Number(
    (await rows<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE ${where}`, values))[0]!
      .n,
  );

type Raw = Awaited<ReturnType<TestServer['request']>>;
const post = (text: string, variables?: Record<string, unknown>) =>
  server.request(text, variables, SERVICE) as Promise<Raw & { data?: Record<string, never> }>;

type SendOne = { sendNotification: { notification: { id: string } } };
const SEND_ONE = `mutation ($in: SendNotificationInput!) {
  sendNotification(input: $in) { deduplicated notification { id title } }
}`;

describe('sendNotifications', () => {
  it('answers one result per input, in order, each stored with its receipts and events', async () => {
    const inputs: SendNotificationInput[] = [
      { category: 'batch', recipientIds: ['ann'], title: 'first' },
      { category: 'urgent', public: true, title: 'second' },
      { category: 'batch', recipientIds: ['cid', 'bob', 'cid'], title: 'third' },
    ];
    const { sendNotifications } = await ok(server, SendNotificationsDocument, { inputs }, SERVICE);
    expect(sendNotifications.map((r) => r.notification.title)).toEqual([
      'first',
      'second',
      'third',
    ]);
    expect(sendNotifications.map((r) => r.recipientCount)).toEqual([1, 0, 2]);
    expect(sendNotifications.map((r) => r.deduplicated)).toEqual([false, false, false]);
    expect(sendNotifications[1]!.notification).toMatchObject({
      priority: 'URGENT',
      requireAck: true,
    });

    const ids = sendNotifications.map((r) => r.notification.id);
    const stored = await rows<{ id: string; title: string; seq: string }>(
      `SELECT id, title, seq FROM "Notification" WHERE id = ANY($1) ORDER BY seq`,
      [ids],
    );
    // Stored in the order given: history and cursors see them in that order too.
    expect(stored.map((n) => n.id)).toEqual(ids);
    const receipts = await rows<{ notificationId: string; userId: string }>(
      `SELECT "notificationId", "userId" FROM "Receipt" WHERE "notificationId" = ANY($1) ORDER BY "userId"`,
      [ids],
    );
    expect(receipts).toEqual([
      { notificationId: ids[0], userId: 'ann' },
      { notificationId: ids[2], userId: 'bob' },
      { notificationId: ids[2], userId: 'cid' },
    ]);
    expect(await countOf('Event', `"notificationId" = ANY($1)`, [ids])).toBe(4);
  });

  it('is the same written inline, with an alias and a variable of another name', async () => {
    const result = await post(
      `mutation Batch($many: [SendNotificationInput!]!) {
        extra: sendNotifications(inputs: [{ title: "inline", recipientIds: ["dee"], category: "batch" }]) {
          notification { title } recipientCount
        }
        given: sendNotifications(inputs: $many) { recipientCount notification { title } }
      }`,
      { many: [{ category: 'batch', recipientIds: ['eve'], title: 'variable' }] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      extra: [{ notification: { title: 'inline' }, recipientCount: 1 }],
      given: [{ recipientCount: 1, notification: { title: 'variable' } }],
    });
  });

  it('refuses the whole batch when one input is bad, naming it, and stores nothing of it', async () => {
    const before = await countOf('Notification');
    const cases: [SendNotificationInput[], string, RegExp][] = [
      [
        [
          { category: 'batch', recipientIds: ['fay'], title: 'fine' },
          { category: 'batch', recipientIds: ['fay'], title: '   ' },
        ],
        'BAD_USER_INPUT',
        /^inputs\[1\]: title must not be empty/,
      ],
      [
        [
          { category: 'batch', recipientIds: ['fay'], title: 'fine' },
          { category: 'batch', recipientIds: ['fay'], title: 'fine too' },
          { category: 'nope', recipientIds: ['fay'], title: 'unknown' },
        ],
        'UNKNOWN_CATEGORY',
        /^inputs\[2\]: no category "nope"/,
      ],
      [
        [
          {
            category: 'batch',
            recipientIds: ['fay'],
            title: 'fine',
            idempotencyKey: 'k'.repeat(256),
          },
        ],
        'BAD_USER_INPUT',
        /^inputs\[0\]: idempotencyKey must be at most 255 characters/,
      ],
      [[], 'BAD_USER_INPUT', /inputs must not be empty/],
      [
        Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({
          category: 'batch',
          recipientIds: ['fay'],
          title: `n${i}`,
        })),
        'BAD_USER_INPUT',
        new RegExp(`at most ${MAX_BATCH} sends per batch`),
      ],
    ];
    for (const [inputs, code, message] of cases) {
      const result = await run(server, SendNotificationsDocument, { inputs }, SERVICE);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.extensions?.code).toBe(code);
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    expect(await countOf('Notification')).toBe(before);
    expect(await countOf('Receipt', `"userId" = 'fay'`)).toBe(0);
  });

  it('respects idempotency keys per input: within the batch, across batches and single sends', async () => {
    const inputs = [
      { category: 'batch', recipientIds: ['gus'], title: 'once', idempotencyKey: 'gus-1' },
      { category: 'batch', recipientIds: ['gus'], title: 'plain' },
      { category: 'batch', recipientIds: ['gus'], title: 'again', idempotencyKey: 'gus-1' },
      { category: 'batch', recipientIds: ['gus'], title: 'other', idempotencyKey: 'gus-2' },
    ];
    const first = (await ok(server, SendNotificationsDocument, { inputs }, SERVICE))
      .sendNotifications;
    expect(first.map((r) => r.deduplicated)).toEqual([false, false, true, false]);
    expect(first[2]!.notification.id).toBe(first[0]!.notification.id);
    expect(first[2]!.notification.title).toBe('once');

    const repeated = (await ok(server, SendNotificationsDocument, { inputs }, SERVICE))
      .sendNotifications;
    expect(repeated.map((r) => r.deduplicated)).toEqual([true, false, true, true]);
    expect(repeated[0]!.notification.id).toBe(first[0]!.notification.id);
    expect(repeated[3]!.notification.id).toBe(first[3]!.notification.id);

    const single = await post(SEND_ONE, { in: inputs[3] });
    expect(single.data).toMatchObject({
      sendNotification: { deduplicated: true, notification: { id: first[3]!.notification.id } },
    });
    // 'once', 'other', and 'plain' twice.
    expect(await countOf('Receipt', `"userId" = 'gus'`)).toBe(4);
  });

  it('stores one notification per key when batches with the same keys race', async () => {
    const inputs = (batch: number) =>
      Array.from({ length: 20 }, (_, i) => ({
        category: 'batch',
        recipientIds: ['hal'],
        title: `race ${batch}-${i}`,
        idempotencyKey: `race-${i}`,
      }));
    const results = await Promise.all(
      [0, 1, 2, 3].map((batch) =>
        ok(server, SendNotificationsDocument, { inputs: inputs(batch) }, SERVICE),
      ),
    );
    for (let i = 0; i < 20; i++) {
      const answers = results.map(({ sendNotifications }) => sendNotifications[i]!);
      expect(new Set(answers.map((a) => a.notification.id)).size).toBe(1);
      expect(answers.filter((a) => !a.deduplicated)).toHaveLength(1);
    }
    expect(await countOf('Receipt', `"userId" = 'hal'`)).toBe(20);
  });

  it('has stored and delivered the whole batch when it answers', async () => {
    const stream = await follow(server, 'ivy');
    const inputs = Array.from({ length: MAX_BATCH }, (_, i) => ({
      category: 'batch',
      recipientIds: ['ivy'],
      title: `ivy ${i}`,
    }));
    const { sendNotifications } = await ok(server, SendNotificationsDocument, { inputs }, SERVICE);
    const ids = sendNotifications.map((r) => r.notification.id);
    // Read on a connection of its own right after the answer: nothing is still on its way.
    expect(await countOf('Notification', 'id = ANY($1)', [ids])).toBe(MAX_BATCH);
    await stream.waitForCount(MAX_BATCH);
    expect(createdIds(stream)).toEqual(ids);
  });

  it('counts each input against the API key rate limit and the query cost', async () => {
    const limited = await startTestServer({
      env: { RATE_LIMIT_MUTATIONS_PER_API_KEY: '5', MAX_QUERY_COST: '100' },
    });
    try {
      await upsertCategory(limited, { name: 'batch' });
      const batch = (count: number) =>
        Array.from({ length: count }, (_, i) => ({
          category: 'batch',
          recipientIds: ['jo'],
          title: `${i}`,
        }));
      const mutation = `mutation ($all: [SendNotificationInput!]!) { sendNotifications(inputs: $all) { recipientCount } }`;
      // Cost: each result is an object with one field (2 + 1.5): 30 inputs cost 105.
      const costly = await limited.request(mutation, { all: batch(30) }, SERVICE);
      expect(costly.errors?.[0]?.extensions).toMatchObject({
        code: 'QUERY_TOO_COMPLEX',
        limit: 'cost',
      });
      const four = await limited.request(mutation, { all: batch(4) }, SERVICE);
      expect(four.errors).toBeUndefined();
      const two = await limited.request(mutation, { all: batch(2) }, SERVICE);
      expect(two.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(two.status).toBe(429);
    } finally {
      await limited.stop();
    }
  });
});

const createdIds = (stream: Stream<MyNotificationsSubscription>) =>
  stream.results
    .map((result) => result.data!.myNotifications)
    .filter((event) => event.type === 'CREATED')
    .map((event) => event.notification.id);

describe('group commit of concurrent sendNotification calls', () => {
  it(
    'stores and delivers exactly once every send answered to several clients at once',
    { timeout: 60_000 },
    async () => {
      const users = ['kay', 'lee', 'max', 'ned'];
      const streams = await Promise.all(users.map((user) => follow(server, user)));
      const clients = 16;
      const perClient = 25;
      // A pool: the clients below check at the same time, and one pg.Client runs one query at once.
      const checker = new pg.Pool({ connectionString: server.databaseUrl });
      onTestFinished(() => checker.end());
      const answered: { user: string; id: string }[] = [];
      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          for (let i = 0; i < perClient; i++) {
            const user = users[(client + i) % users.length]!;
            const result = await post(SEND_ONE, {
              in: { category: 'batch', recipientIds: [user], title: `${client}-${i}` },
            });
            expect(result.errors).toBeUndefined();
            const { id } = (result.data as unknown as SendOne).sendNotification.notification;
            // Answered means stored: visible at once on another connection.
            const found = await checker.query('SELECT 1 FROM "Notification" WHERE id = $1', [id]);
            expect(found.rowCount).toBe(1);
            answered.push({ user, id });
          }
        }),
      );
      const total = clients * perClient;
      expect(new Set(answered.map((a) => a.id)).size).toBe(total);
      const ids = answered.map((a) => a.id);
      expect(await countOf('Notification', 'id = ANY($1)', [ids])).toBe(total);
      expect(
        await countOf('Receipt', 'id = ANY($1)'.replace('id', '"notificationId"'), [ids]),
      ).toBe(total);
      expect(await countOf('Event', '"notificationId" = ANY($1)', [ids])).toBe(total);
      for (const [index, user] of users.entries()) {
        const own = answered.filter((a) => a.user === user).map((a) => a.id);
        const stream = streams[index]!;
        await stream.waitForCount(own.length);
        // Once each, in the order of the user's stream (its seq), and nothing else.
        const delivered = createdIds(stream);
        expect([...delivered].sort()).toEqual([...own].sort());
        const order = await rows<{ id: string }>(
          `SELECT "notificationId" AS id FROM "Event" WHERE stream = $1 ORDER BY seq`,
          [`user:${user}`],
        );
        expect(delivered).toEqual(order.map((row) => row.id));
      }
    },
  );

  it('fails only the bad sends among concurrent good ones', async () => {
    // 'doomed' is cached by this instance, then removed behind its back: its sends fail in the
    // statement (the foreign key), not in validation, so a group holding them fails and the
    // good sends of that group must be stored anyway.
    await upsertCategory(server, { name: 'doomed' });
    await post(SEND_ONE, { in: { category: 'doomed', recipientIds: ['oz'], title: 'cached' } });
    await rows(`DELETE FROM "Receipt" WHERE "userId" = 'oz'`);
    await rows(`DELETE FROM "Event" WHERE stream = 'user:oz'`);
    await rows(`DELETE FROM "Notification" WHERE "categoryName" = 'doomed'`);
    await rows(`DELETE FROM "Category" WHERE name = 'doomed'`);

    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const kind = i % 10 === 3 ? 'doomed' : i % 10 === 7 ? 'invalid' : 'good';
        const input = {
          category: kind === 'doomed' ? 'doomed' : 'batch',
          recipientIds: ['pat'],
          title: kind === 'invalid' ? '' : `${kind} ${i}`,
        };
        return post(SEND_ONE, { in: input }).then((result) => ({ kind, result }));
      }),
    );
    for (const { kind, result } of outcomes) {
      const code = result.errors?.[0]?.extensions?.code;
      if (kind === 'good') expect(result.errors).toBeUndefined();
      else expect(code).toBe(kind === 'doomed' ? 'UNKNOWN_CATEGORY' : 'BAD_USER_INPUT');
    }
    const good = outcomes.filter((o) => o.kind === 'good').length;
    expect(await countOf('Receipt', `"userId" = 'pat'`)).toBe(good);
    expect(await countOf('Event', `stream = 'user:pat'`)).toBe(good);
  });
});
