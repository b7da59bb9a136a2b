import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import {
  asService,
  asUser,
  postGraphQL,
  startServiceProcess,
  type ServiceProcess,
} from './helpers/service-process.js';
import { until } from './helpers/wait.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

// An instance killed with SIGKILL while its webhook request is in flight: the delivery is in the
// outbox, claimed under a lease that runs out, so the other instance sends it again, with the
// same webhook-id, and it is marked delivered.

let database: TestDatabase;
let receiver: WebhookReceiver;
let a: ServiceProcess | undefined;
let b: ServiceProcess | undefined;

const env = () => ({
  DATABASE_URL: database.url,
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_TIMEOUT_SECONDS: '2',
  WEBHOOK_RETRY_BASE_SECONDS: '1',
});

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await WebhookReceiver.start();
  // The first request is never answered: the instance sending it is killed meanwhile.
  receiver.answer = (_path, count) => (count === 0 ? 'hang' : 200);
}, 60_000);

afterAll(async () => {
  a?.kill();
  await a?.stop();
  await b?.stop();
  await receiver?.stop();
  await database?.drop();
}, 60_000);

it('another instance delivers what a killed instance was delivering, with the same webhook-id', async () => {
  a = await startServiceProcess(env());
  const admin = await asUser('admin', { admin: true });
  await postGraphQL(
    a.url,
    'mutation { upsertCategory(input: { name: "info" }) { name } }',
    {},
    admin,
  );
  const created = await postGraphQL<{ createWebhook: { secret: string } }>(
    a.url,
    `mutation { createWebhook(input: { url: "${receiver.url('/k')}", events: [SEEN] }) { secret } }`,
    {},
    asService,
  );
  receiver.secrets.set('/k', created.data!.createWebhook.secret);
  const sent = await postGraphQL<{ sendNotification: { notification: { id: string } } }>(
    a.url,
    `mutation { sendNotification(input: { category: "info", recipientIds: ["kim"], title: "k" }) { notification { id } } }`,
    {},
    asService,
  );
  const id = sent.data!.sendNotification.notification.id;
  const seen = await postGraphQL(
    a.url,
    `mutation { markSeen(ids: ["${id}"]) { id } }`,
    {},
    await asUser('kim'),
  );
  expect(seen.errors).toBeUndefined();

  // A is sending it (the receiver holds the request): kill A.
  await until(
    () => receiver.at('/k'),
    (entries) => entries.length === 1,
    15_000,
  );
  a.kill();
  await until(
    () => a!.alive(),
    (alive) => !alive,
    10_000,
  );
  b = await startServiceProcess(env());

  const got = await until(
    () => receiver.at('/k'),
    (entries) => entries.length === 2,
    30_000,
  );
  expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
  expect(got.map((entry) => entry.refused)).toEqual([undefined, undefined]);
  expect(got[1]!.payload).toMatchObject({
    type: 'notification.seen',
    data: { notificationId: id, userId: 'kim', category: 'info' },
  });
  const [row] = await until(
    () =>
      query<{ status: string; attempts: number }>(
        database.url,
        `SELECT status::text, attempts FROM "WebhookDelivery" WHERE id = $1`,
        [got[0]!.headers['webhook-id']],
      ),
    (rows) => rows[0]?.status === 'DELIVERED',
  );
  expect(row!.attempts).toBe(2);
}, 120_000);
