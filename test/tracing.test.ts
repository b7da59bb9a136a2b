import { randomBytes } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from './helpers/cluster.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import {
  asService,
  asUser,
  connectUser,
  postGraphQL,
  startServiceProcess,
  type ServiceProcess,
} from './helpers/service-process.js';
import { Stream } from './helpers/stream.js';
import { until } from './helpers/wait.js';

// Tracing, turned on the way an operator does (OTEL_EXPORTER_OTLP_ENDPOINT), in two service
// processes on one Redis, exporting to a real OTLP/HTTP receiver in the test: a send on A,
// delivered to a subscriber on B, is one trace from A's HTTP request to B's delivery.

const KIND = { server: 2, client: 3, consumer: 5 };

let database: TestDatabase;
let receiver: OtlpReceiver;
let a: ServiceProcess;
let b: ServiceProcess;
let tap: Redis;
const published: string[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await OtlpReceiver.start();
  const channelPrefix = `tracing-${randomBytes(4).toString('hex')}:`;
  const env = (instance: string) => ({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_CHANNEL_PREFIX: channelPrefix,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  a = await startServiceProcess(env('a'));
  b = await startServiceProcess(env('b'));
  tap = new Redis(TEST_REDIS_URL);
  tap.on('message', (_channel: string, message: string) => published.push(message));
  await tap.subscribe(`${channelPrefix}events`);
  const category = await postGraphQL(
    a.url,
    'mutation { upsertCategory(input: { name: "info" }) { name } }',
    {},
    await asUser('admin', { admin: true }),
  );
  expect(category.errors).toBeUndefined();
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  tap?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
  await receiver?.close();
  await database?.drop();
}, 60_000);

const resourceOf = (span: ReceivedSpan) => span.resource['service.instance.id'];

describe('a send traced across instances', () => {
  it('is one trace from the send’s HTTP span on A to the delivery span on B', async () => {
    const client = await connectUser(b.wsUrl, 'tracy');
    clients.push(client);
    const stream = new Stream<{ event: { type: string; notification: { id: string } } }>(
      client,
      'subscription Inbox { event: myNotifications { notification { id } type } }',
    );
    // Subscribed on B before the send: wait until B's subscription has started listening.
    await until(
      () => receiver.spans.some((s) => s.name === 'subscription Inbox' && resourceOf(s) === 'b'),
      Boolean,
      20_000,
      'the subscription span from B',
    );

    const sent = await postGraphQL<{ sent: { notification: { id: string } } }>(
      a.url,
      `mutation Notify($what: SendNotificationInput!) {
        sent: sendNotification(input: $what) { notification { id } }
      }`,
      { what: { category: 'info', recipientIds: ['tracy'], title: 'traced' } },
      asService,
    );
    expect(sent.errors).toBeUndefined();
    const id = sent.data!.sent.notification.id;
    const [event] = await stream.waitForCount(1, 10_000);
    expect(event!.data!.event).toEqual({ type: 'CREATED', notification: { id } });

    const delivery = await until(
      () =>
        receiver.spans.find(
          (s) => s.name === 'notification.deliver' && s.attributes['notification.id'] === id,
        ),
      Boolean,
      20_000,
      'the delivery span',
    );
    expect(resourceOf(delivery!)).toBe('b');
    expect(delivery!.attributes).toMatchObject({
      'notification.event': 'CREATED',
      'notification.stream': 'user:tracy',
      'enduser.id': 'tracy',
    });

    // From the delivery up to the root, parent by parent, across the bus.
    const chain = await until(
      () => receiver.ancestry(delivery!),
      (found) => found.at(-1)!.parentSpanId === undefined,
      20_000,
      'every span from the delivery to the root',
    );
    const steps = chain.map((span) => `${resourceOf(span)} ${span.scope} ${span.name}`).reverse();
    expect(steps[0]).toMatch(/^a @opentelemetry\/instrumentation-http /);
    expect(chain.at(-1)!.kind).toBe(KIND.server);
    expect(steps.slice(1)).toEqual([
      'a notification-service mutation Notify',
      'b notification-service notification.bus.receive',
      'b notification-service notification.deliver',
    ]);
    expect(chain.find((s) => s.name === 'notification.bus.receive')!.kind).toBe(KIND.consumer);

    // The same trace holds A's PostgreSQL and Redis work for the send.
    const trace = receiver.trace(delivery!.traceId);
    const operation = chain.find((s) => s.name === 'mutation Notify')!;
    expect(operation.attributes).toMatchObject({
      'graphql.operation.type': 'mutation',
      'graphql.operation.name': 'Notify',
    });
    const children = trace.filter((s) => s.parentSpanId === operation.spanId);
    expect(children.some((s) => s.scope === '@opentelemetry/instrumentation-pg')).toBe(true);
    const publish = children.find(
      (s) => s.scope === '@opentelemetry/instrumentation-ioredis' && s.name === 'publish',
    );
    expect(publish?.kind).toBe(KIND.client);
    // Parameters are not recorded: a statement shows the command and the channel, no content.
    expect(JSON.stringify(trace)).not.toContain('traced');

    // On the bus, the send's messages carry its traceparent.
    const sentMessages = published.filter((message) => message.includes(id));
    expect(sentMessages.length).toBeGreaterThan(0);
    for (const message of sentMessages) {
      expect((JSON.parse(message) as { trace?: string }).trace).toMatch(
        new RegExp(`^00-${delivery!.traceId}-[0-9a-f]{16}-01$`),
      );
    }
    expect(receiver.refused).toEqual([]);
  }, 60_000);
});
