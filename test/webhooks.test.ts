import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SERVICE, send, upsertCategory } from './helpers/operations.js';
import { metricValue } from './helpers/raw-socket.js';
import { TEST_API_KEY, startTestServer, type Auth, type TestServer } from './helpers/server.js';
import { sleep, until } from './helpers/wait.js';
import { WebhookReceiver, type ReceivedWebhook } from './helpers/webhook-receiver.js';

// Webhooks against the real service (real PostgreSQL, its own dispatcher) and a real HTTP
// receiver that checks every signature with the Standard Webhooks reference verifier.

const OTHER_KEY = 'other-service-key-0123456789';
const OTHER: Auth = { apiKey: OTHER_KEY };

let server: TestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  server = await startTestServer({
    env: {
      // The receiver listens on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_SECONDS: '1',
      WEBHOOK_TIMEOUT_SECONDS: '2',
      SERVICE_API_KEYS: `${TEST_API_KEY},${OTHER_KEY}`,
    },
  });
  await upsertCategory(server, { name: 'wh-ack', requireAck: true });
  await upsertCategory(server, { name: 'wh-plain' });
  await upsertCategory(server, { name: 'wh-escalate', requireAck: true, escalateAfterSeconds: 2 });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
});

/** Creates a webhook written inline, as a service would, and registers its secret. */
async function createWebhook(path: string, events: string, extra = '', auth: Auth = SERVICE) {
  const result = await server.request<{
    hook: { webhook: { id: string; url: string; events: string[] }; secret: string };
  }>(
    `mutation { hook: createWebhook(input: { events: [${events}], url: "${receiver.url(path)}" ${extra} }) {
      secret webhook { url events id } } }`,
    undefined,
    auth,
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  receiver.secrets.set(path, result.data.hook.secret);
  return result.data.hook;
}

/** notifications_webhook_deliveries_total of one outcome (attempts, by what came of them). */
async function attemptsEnded(outcome: string) {
  const text = await (await fetch(server.url.replace(/\/graphql$/, '/metrics'))).text();
  return metricValue(text, `notifications_webhook_deliveries_total{outcome="${outcome}"}`) ?? 0;
}

const of = (path: string, notificationId: string) =>
  receiver.at(path).filter((entry) => entry.payload?.data.notificationId === notificationId);

describe('deliveries', () => {
  it('sends SEEN, ACKNOWLEDGED and DELETED, each signed so the reference verifier accepts it', async () => {
    const hook = await createWebhook('/all', 'SEEN, ACKNOWLEDGED, DELETED');
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(hook.webhook.events).toEqual(['SEEN', 'ACKNOWLEDGED', 'DELETED']);
    const { notification } = await send(server, {
      category: 'wh-ack',
      recipientIds: ['alice'],
      title: 'Accept the terms',
    });
    const seen = await server.request(
      `mutation See($which: [ID!]!) { done: markSeen(ids: $which) { id } }`,
      { which: [notification.id] },
      'alice',
    );
    expect(seen.errors).toBeUndefined();
    await server.request(`mutation { acknowledge(id: "${notification.id}") { id } }`, {}, 'alice');
    await server.request(`mutation { deleteNotification(id: "${notification.id}") }`, {}, ADMIN);

    const got = await until(
      () => of('/all', notification.id),
      (entries) => entries.length >= 3,
      15_000,
    );
    await sleep(500);
    expect(of('/all', notification.id)).toHaveLength(3);
    expect(got.map((entry) => entry.refused)).toEqual([undefined, undefined, undefined]);
    const types = got.map((entry) => entry.payload!.type).sort();
    expect(types).toEqual([
      'notification.acknowledged',
      'notification.deleted',
      'notification.seen',
    ]);
    for (const entry of got) {
      expect(entry.payload!.data).toMatchObject({
        notificationId: notification.id,
        category: 'wh-ack',
      });
      expect(entry.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    }
    const byType = Object.fromEntries(got.map((entry) => [entry.payload!.type, entry]));
    expect(byType['notification.seen']!.payload!.data.userId).toBe('alice');
    expect(byType['notification.acknowledged']!.payload!.data.userId).toBe('alice');
    // Each delivery its own id, to deduplicate by.
    expect(new Set(got.map((entry) => entry.headers['webhook-id'])).size).toBe(3);
  });

  it('a body changed on the way, or another secret, fails the reference verifier', async () => {
    await createWebhook('/tamper', 'SEEN');
    const { notification } = await send(server, {
      category: 'wh-plain',
      recipientIds: ['tina'],
      title: 'x',
    });
    await server.request(`mutation { markSeen(ids: ["${notification.id}"]) { id } }`, {}, 'tina');
    const [entry] = await until(
      () => of('/tamper', notification.id),
      (entries) => entries.length === 1,
      15_000,
    );
    const { Webhook } = await import('standardwebhooks');
    const headers = {
      'webhook-id': String(entry!.headers['webhook-id']),
      'webhook-timestamp': String(entry!.headers['webhook-timestamp']),
      'webhook-signature': String(entry!.headers['webhook-signature']),
    };
    const verifier = new Webhook(receiver.secrets.get('/tamper')!);
    expect(() => verifier.verify(entry!.body.replace('tina', 'tim'), headers)).toThrow();
    expect(() =>
      new Webhook('whsec_' + Buffer.alloc(24, 7).toString('base64')).verify(entry!.body, headers),
    ).toThrow();
  });

  it('sends only the events and categories a webhook subscribed to', async () => {
    await createWebhook('/plain-seen', 'SEEN', ', categories: ["wh-plain"]');
    const plain = await send(server, { category: 'wh-plain', recipientIds: ['bea'], title: 'p' });
    const ack = await send(server, { category: 'wh-ack', recipientIds: ['bea'], title: 'a' });
    await server.request(
      `mutation { a: acknowledge(id: "${ack.notification.id}") { id } b: markSeen(ids: ["${plain.notification.id}"]) { id } }`,
      {},
      'bea',
    );
    await until(
      () => of('/plain-seen', plain.notification.id),
      (entries) => entries.length === 1,
      15_000,
    );
    await sleep(1500);
    expect(receiver.at('/plain-seen').map((entry) => entry.payload?.data.notificationId)).toEqual([
      plain.notification.id,
    ]);
    expect(receiver.at('/plain-seen')[0]!.payload!.type).toBe('notification.seen');
  });

  it('sends SEEN when a service marks it seen for the user (markSeenFor), as when the user does', async () => {
    await createWebhook('/for', 'SEEN');
    const { notification } = await send(server, {
      category: 'wh-plain',
      recipientIds: ['gus'],
      title: 'by e-mail',
    });
    const marked = await server.request(
      `mutation { markSeenFor(userId: "gus", ids: ["${notification.id}"]) { id } }`,
      {},
      SERVICE,
    );
    expect(marked.errors).toBeUndefined();
    const [entry] = await until(
      () => of('/for', notification.id),
      (entries) => entries.length === 1,
      15_000,
    );
    expect(entry!.refused).toBeUndefined();
    expect(entry!.payload).toMatchObject({ type: 'notification.seen', data: { userId: 'gus' } });
  });

  it('retries a delivery the receiver answered with 500, with the same webhook-id', async () => {
    receiver.answer = (path, count) => (path === '/flaky' && count === 0 ? 500 : 200);
    const [retriedBefore, deliveredBefore] = [
      await attemptsEnded('retry'),
      await attemptsEnded('delivered'),
    ];
    await createWebhook('/flaky', 'SEEN');
    const { notification } = await send(server, {
      category: 'wh-plain',
      recipientIds: ['carl'],
      title: 'f',
    });
    await server.request(`mutation { markSeen(ids: ["${notification.id}"]) { id } }`, {}, 'carl');
    const got = await until(
      () => of('/flaky', notification.id),
      (entries) => entries.length === 2,
      20_000,
    );
    expect(got.map((entry) => entry.status)).toEqual([500, 200]);
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
    expect(got.every((entry) => entry.refused === undefined)).toBe(true);
    const [row] = await server.app.services.database.webhookDelivery.findMany({
      where: { id: String(got[0]!.headers['webhook-id']) },
    });
    await until(
      () =>
        server.app.services.database.webhookDelivery.findUniqueOrThrow({ where: { id: row!.id } }),
      (delivery) => delivery.status === 'DELIVERED',
    );
    await sleep(2500);
    expect(of('/flaky', notification.id)).toHaveLength(2);
    // Counted for the operator: one attempt to retry, then one delivered.
    expect(await attemptsEnded('retry')).toBe(retriedBefore + 1);
    expect(await attemptsEnded('delivered')).toBeGreaterThanOrEqual(deliveredBefore + 1);
  });
  it('marks a delivery failed when an attempt fails after its retry window (WEBHOOK_RETRY_HOURS) is over', async () => {
    receiver.answer = (path, count) =>
      path === '/down' ? 503 : path === '/flaky' && count === 0 ? 500 : 200;
    const failedBefore = await attemptsEnded('failed');
    const hook = await createWebhook('/down', 'DELETED');
    const database = server.app.services.database;
    // Queued 25 hours ago and never delivered (the receiver was down all along).
    const old = await database.webhookDelivery.create({
      data: {
        webhookId: hook.webhook.id,
        event: 'DELETED',
        notificationId: '00000000-0000-4000-8000-000000000025',
        data: {
          notificationId: '00000000-0000-4000-8000-000000000025',
          userId: null,
          category: 'wh-plain',
        },
        attempts: 40,
        createdAt: new Date(Date.now() - 25 * 3600_000),
      },
    });
    const failed = await until(
      () => database.webhookDelivery.findUniqueOrThrow({ where: { id: old.id } }),
      (delivery) => delivery.status !== 'PENDING',
      15_000,
    );
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 41, lastError: 'HTTP 503' });
    expect(receiver.at('/down')).toHaveLength(1);
    expect(await attemptsEnded('failed')).toBe(failedBefore + 1);
  });
});

describe('escalation', () => {
  it('sends one UNACKNOWLEDGED per recipient who has not acknowledged in time, none for one who has', async () => {
    await createWebhook('/escalations', 'UNACKNOWLEDGED');
    const { notification } = await send(server, {
      category: 'wh-escalate',
      recipientIds: ['dan', 'erin', 'fay'],
      title: 'Sign the policy',
    });
    await server.request(`mutation { acknowledge(id: "${notification.id}") { id } }`, {}, 'erin');
    await server.request(`mutation { markSeen(ids: ["${notification.id}"]) { id } }`, {}, 'fay');
    const got = await until(
      () => of('/escalations', notification.id),
      (entries) => entries.length >= 2,
      15_000,
    );
    await sleep(3000);
    const users = (entries: ReceivedWebhook[]) =>
      entries.map((entry) => entry.payload!.data.userId).sort();
    expect(users(of('/escalations', notification.id))).toEqual(['dan', 'fay']);
    expect(got.every((entry) => entry.payload!.type === 'notification.unacknowledged')).toBe(true);
    expect(
      got.find((entry) => entry.payload!.data.userId === 'fay')!.payload!.data.seenAt,
    ).not.toBe(null);
    // Walked once: nothing of it is left to escalate.
    expect(
      await server.app.services.database.webhookEscalation.count({
        where: { notificationId: notification.id },
      }),
    ).toBe(0);
  });

  it('refuses escalateAfterSeconds on a category that does not require acknowledgement', async () => {
    const result = await server.request(
      `mutation { upsertCategory(input: { escalateAfterSeconds: 60, name: "wh-no-ack" }) { name } }`,
      {},
      ADMIN,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(
      await server.app.services.database.category.count({ where: { name: 'wh-no-ack' } }),
    ).toBe(0);
  });
});

describe('ownership', () => {
  it('another service neither sees nor deletes your webhooks; admins see them all', async () => {
    const mine = await createWebhook('/mine', 'DELETED');
    const theirs = await createWebhook('/theirs', 'DELETED', '', OTHER);
    const list = async (auth: Auth) =>
      (
        await server.request<{ hooks: { id: string; service: string }[] }>(
          `{ hooks: webhooks { id service } }`,
          {},
          auth,
        )
      ).data!.hooks.map((hook) => hook.id);
    expect(await list(OTHER)).toEqual([theirs.webhook.id]);
    expect(await list(SERVICE)).toContain(mine.webhook.id);
    expect(await list(SERVICE)).not.toContain(theirs.webhook.id);
    expect(await list(ADMIN)).toEqual(expect.arrayContaining([mine.webhook.id, theirs.webhook.id]));

    const refused = await server.request(
      `mutation Drop($hook: ID!) { deleteWebhook(id: $hook) }`,
      { hook: mine.webhook.id },
      OTHER,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await list(SERVICE)).toContain(mine.webhook.id);
    const byUser = await server.request(`{ webhooks { id } }`, {}, 'alice');
    expect(byUser.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const deleted = await server.request(
      `mutation { deleteWebhook(id: "${mine.webhook.id}") }`,
      {},
      SERVICE,
    );
    expect(deleted.data).toEqual({ deleteWebhook: true });
    expect(await list(SERVICE)).not.toContain(mine.webhook.id);
    const again = await server.request(
      `mutation { deleteWebhook(id: "${mine.webhook.id}") }`,
      {},
      SERVICE,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('refused input', () => {
  let strict: TestServer;
  beforeAll(async () => {
    // WEBHOOK_ALLOW_PRIVATE unset: the production rule.
    strict = await startTestServer({ env: { WEBHOOK_MAX_PER_SERVICE: '2' } });
    await upsertCategory(strict, { name: 'known' });
  }, 60_000);
  afterAll(() => strict?.stop());

  const create = (url: string, extra = '') =>
    strict.request<{ createWebhook: { webhook: { id: string } } }>(
      `mutation Add($address: String!) { createWebhook(input: { url: $address, events: [SEEN] ${extra} }) { webhook { id } } }`,
      { address: url },
      SERVICE,
    );
  const codeOf = async (url: string, extra = '') =>
    (await create(url, extra)).errors?.[0]?.extensions?.code;

  it('refuses URLs that are not http(s) or resolve to a non-public address', async () => {
    for (const url of [
      receiver.url('/private'),
      'http://localhost:8080/hook',
      'http://[::1]/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00::1]/hook',
      'http://0.0.0.0/hook',
      'ftp://93.184.215.14/hook',
      'not a url',
      `https://93.184.215.14/${'x'.repeat(2100)}`,
    ]) {
      expect([url.slice(0, 60), await codeOf(url)]).toEqual([url.slice(0, 60), 'BAD_USER_INPUT']);
    }
    expect(await strict.app.services.database.webhook.count()).toBe(0);
  });

  it('refuses unknown categories, no events, and more than WEBHOOK_MAX_PER_SERVICE webhooks', async () => {
    expect(await codeOf('https://93.184.215.14/a', ', categories: ["nope"]')).toBe(
      'UNKNOWN_CATEGORY',
    );
    const none = await strict.request(
      `mutation { createWebhook(input: { url: "https://93.184.215.14/a", events: [] }) { secret } }`,
      {},
      SERVICE,
    );
    expect(none.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(
      (await create('https://93.184.215.14/a', ', categories: ["known"]')).errors,
    ).toBeUndefined();
    expect((await create('https://93.184.215.14/b')).errors).toBeUndefined();
    expect(await codeOf('https://93.184.215.14/c')).toBe('BAD_USER_INPUT');
    expect(await strict.app.services.database.webhook.count()).toBe(2);
  });
});
