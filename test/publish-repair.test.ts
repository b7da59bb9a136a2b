import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPairOnOwnRedis, type PairOnOwnRedis } from './helpers/fault-setup.js';
import { follow, send } from './helpers/operations.js';
import type { TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// The sending instance's publisher connection fails while every subscriber connection stays:
// no outage is seen by the others, so nothing but the publish itself would tell them.

let pair: PairOnOwnRedis;
let a: TestServer;
let b: TestServer;
let admin: Redis;
const published: string[] = [];
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  pair = await startPairOnOwnRedis({
    env: { LOG_LEVEL: 'info' },
    onLog: (line) => logs.push(line),
    onPublish: (message) => published.push(message.toString()),
  });
  ({ a, b } = pair);
  admin = new Redis(pair.redis.url);
}, 60_000);
afterEach(() => admin.config('SET', 'maxclients', '10000'));
afterAll(async () => {
  admin?.disconnect();
  await pair?.stop();
});

/**
 * Kills A's publisher connection and, by admitting no new connection, keeps it out until
 * `letBackIn` is called; the subscribers (A's, B's and the test's) stay connected.
 */
async function cutPublisherOfA() {
  const name = `notifications-publisher-${a.app.services.instanceId}`;
  const idIn = (list: string) =>
    list
      .split('\n')
      .find((line) => line.includes(` name=${name} `))
      ?.match(/^id=(\d+)/)?.[1];
  // After an earlier cut it may still be on its way back.
  const list = await until(
    async () => (await admin.client('LIST')) as string,
    (answer) => idIn(answer) !== undefined,
  );
  const id = idIn(list);
  expect(id, `a connection named ${name}`).toBeDefined();
  const connected = list.trim().split('\n').length;
  await admin.config('SET', 'maxclients', String(connected - 1));
  await admin.client('KILL', 'ID', id!);
  return { letBackIn: () => admin.config('SET', 'maxclients', '10000') };
}

/** Follows `userId` on B, and waits for a first live send so the replay is over. */
async function followLive(userId: string) {
  const stream = await follow(b, userId);
  await send(a, { category: 'info', recipientIds: [userId], title: 'first' });
  await stream.waitForCount(1);
  return stream;
}

/** Sends from A and checks the publish did fail, so the test proves what it says. */
async function sendWhilePublisherIsOut(userId: string, title: string) {
  const failuresBefore = publishFailures();
  const sent = await send(a, { category: 'info', recipientIds: [userId], title });
  expect(publishFailures(), 'a failed publish logged by A').toBeGreaterThan(failuresBefore);
  return sent;
}
const publishFailures = () =>
  logs.filter((line) => String(line.msg).startsWith('publish failed')).length;

describe('a publish that fails while the subscribers stay connected', () => {
  it('reaches the subscriber on the other instance within 5 s while the publisher stays out', async () => {
    const stream = await followLive('pia');
    await cutPublisherOfA();
    const sent = await sendWhilePublisherIsOut('pia', 'lost publish');
    const [, event] = await stream.waitForCount(2, 5000);
    expect(event!.data!.myNotifications.notification.id).toBe(sent.notification.id);
  }, 30_000);

  it('is published again once the publisher is back, and delivered exactly once', async () => {
    const stream = await followLive('quinn');
    const { letBackIn } = await cutPublisherOfA();
    const sent = await sendWhilePublisherIsOut('quinn', 'retried publish');
    await letBackIn();
    const republished = await until(
      () => published.some((message) => message.includes(sent.notification.id)),
      (seen) => seen,
      5000,
    );
    expect(republished, 'the event published on the channel after the failure').toBe(true);
    const [, event] = await stream.waitForCount(2, 5000);
    expect(event!.data!.myNotifications.notification.id).toBe(sent.notification.id);
    // A later send goes through as usual, and nothing arrives twice.
    const next = await send(a, { category: 'info', recipientIds: ['quinn'], title: 'next' });
    const events = await stream.waitForCount(3, 5000);
    expect(events.slice(1).map((result) => result.data!.myNotifications.notification.id)).toEqual([
      sent.notification.id,
      next.notification.id,
    ]);
    expect(stream.results).toHaveLength(3);
  }, 30_000);
});
