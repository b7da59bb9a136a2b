import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStream } from '../src/notifications/types.js';
import { LIMITS } from '../src/notifications/validation.js';
import { MAX_BUS_MESSAGE_BYTES } from '../src/realtime/codec.js';
import { startPairOnOwnRedis, type PairOnOwnRedis } from './helpers/fault-setup.js';
import { follow, send } from './helpers/operations.js';
import type { TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// The largest send the limits allow, between two instances on one Redis. Redis drops a
// subscriber whose pending output passes `client-output-buffer-limit pubsub` (32 MB by default),
// so a send must not put its content on the bus once per recipient, and no message may be large.

let pair: PairOnOwnRedis;
let a: TestServer;
let b: TestServer;
let admin: Redis;
const published: Buffer[] = [];
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  pair = await startPairOnOwnRedis({
    env: { LOG_LEVEL: 'info', RATE_LIMIT_CONNECTIONS_PER_IP: '0' },
    onLog: (line) => logs.push(line),
    onPublish: (message) => published.push(message),
  });
  ({ a, b } = pair);
  admin = new Redis(pair.redis.url);
}, 60_000);
afterAll(async () => {
  admin?.disconnect();
  await pair?.stop();
});

// As many recipients as a send allows, with ids as long as a request of MAX_REQUEST_BYTES fits.
const recipients = Array.from({ length: LIMITS.recipients }, (_, i) =>
  `recipient-${String(i).padStart(5, '0')}-`.padEnd(80, 'x'),
);
const fullData = { blob: 'd'.repeat(LIMITS.dataBytes - '{"blob":""}'.length) };
const longUrl = (fill: string) =>
  `https://example.com/${fill.repeat(LIMITS.urlLength - 'https://example.com/'.length)}`;

/** The subscriber connections' ids in CLIENT LIST, by instance: a new id means it was dropped. */
async function subscriberConnections() {
  const list = (await admin.client('LIST')) as string;
  return [a, b].map((server) => {
    const name = `notifications-subscriber-${server.app.services.instanceId}`;
    const line = list.split('\n').find((entry) => entry.includes(` name=${name} `));
    return line?.match(/^id=(\d+)/)?.[1];
  });
}

/** What instance B's bus handed its listeners: notification id -> recipient -> times. */
const receivedOnB = new Map<string, Map<string, number>>();
function listenOnB() {
  for (const recipient of recipients) {
    b.app.services.bus.subscribe(userStream(recipient), (event) => {
      const byRecipient = receivedOnB.get(event.notification.id) ?? new Map<string, number>();
      receivedOnB.set(event.notification.id, byRecipient);
      byRecipient.set(recipient, (byRecipient.get(recipient) ?? 0) + 1);
    });
  }
}

/** Sends to every recipient from A, with real sockets on B for the first and last ten. */
async function sendLargest(content: {
  title: string;
  body: string;
  icon: string;
  actionUrl: string;
}) {
  const followers: Awaited<ReturnType<typeof follow>>[] = [];
  for (const recipient of [...recipients.slice(0, 10), ...recipients.slice(-10)]) {
    followers.push(await follow(b, recipient));
  }
  const connectionsBefore = await subscriberConnections();
  expect(connectionsBefore.every(Boolean)).toBe(true);
  const publishedBefore = published.length;
  const sent = await send(a, {
    category: 'info',
    recipientIds: recipients,
    data: fullData,
    ...content,
  });
  return { sent, followers, connectionsBefore, payloads: () => published.slice(publishedBefore) };
}

/** Every recipient got it once on B, on the bus and on the sample's sockets, with its content. */
async function expectDeliveredOnce(
  { sent, followers }: Awaited<ReturnType<typeof sendLargest>>,
  body: string,
) {
  for (const follower of followers) {
    const [event] = await follower.waitForCount(1, 20_000);
    expect(event!.data!.myNotifications.notification).toMatchObject({
      id: sent.notification.id,
      body,
    });
  }
  const byRecipient = await until(
    () => receivedOnB.get(sent.notification.id),
    (received) => received?.size === recipients.length,
    20_000,
  );
  expect(byRecipient?.size ?? 0, 'recipients whose event reached B').toBe(recipients.length);
  expect([...byRecipient!.values()].every((times) => times === 1)).toBe(true);
  for (const follower of followers) expect(follower.results).toHaveLength(1);
}

/** No message above the bound, and no subscriber connection dropped or resynced. */
async function expectBoundedAndConnected({
  connectionsBefore,
  payloads,
}: Awaited<ReturnType<typeof sendLargest>>) {
  expect(payloads().length).toBeGreaterThan(0);
  expect(Math.max(...payloads().map((payload) => payload.length))).toBeLessThanOrEqual(
    MAX_BUS_MESSAGE_BYTES,
  );
  expect(await subscriberConnections()).toEqual(connectionsBefore);
  expect(logs.map((line) => line.msg)).not.toContain('redis connection lost; reconnecting');
}

describe('the largest send the limits allow, across two instances', () => {
  beforeAll(() => listenOnB());

  it('reaches every recipient on the other instance exactly once, with its content published once, in bounded messages, dropping no subscriber', async () => {
    const body = '€'.repeat(LIMITS.bodyLength);
    const sending = await sendLargest({
      title: '€'.repeat(LIMITS.titleLength),
      body,
      icon: longUrl('i'),
      actionUrl: longUrl('a'),
    });
    await expectDeliveredOnce(sending, body);
    // Content once per send: the body is in one message, not in one per recipient.
    expect(sending.payloads().filter((payload) => payload.includes(body)).length).toBe(1);
    await expectBoundedAndConnected(sending);
  }, 120_000);

  it('sends content larger than a message as ids only, and the other instance reads it from the database', async () => {
    // Control characters take six bytes each in JSON: this content alone passes the bound.
    const body = '\u0001'.repeat(LIMITS.bodyLength);
    const sending = await sendLargest({
      title: '\u0001'.repeat(LIMITS.titleLength),
      body,
      icon: longUrl('\u0001'),
      actionUrl: longUrl('\u0001'),
    });
    await expectDeliveredOnce(sending, body);
    expect(sending.payloads().some((payload) => payload.includes(JSON.stringify(body)))).toBe(
      false,
    );
    await expectBoundedAndConnected(sending);
  }, 120_000);
});
