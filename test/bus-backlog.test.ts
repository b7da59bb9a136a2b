import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BUS_BACKLOG_BYTES } from '../src/realtime/redis-bus.js';
import { pairForTests, TEST_REDIS_URL } from './helpers/cluster.js';
import { follow, send } from './helpers/operations.js';
import { metricValue } from './helpers/raw-socket.js';
import type { TestServer } from './helpers/server.js';

// What an instance has received from Redis but not handled yet is bounded: when messages come
// faster than they are handled, the ones past the bound are dropped, and subscribers get their
// events from the log (the stream-head check, or the gap the next live event shows).

const pair = pairForTests({ categories: [{ name: 'info' }] });
let flooder: Redis;
beforeAll(() => {
  flooder = new Redis(TEST_REDIS_URL);
});
afterAll(() => flooder.disconnect());

const scrape = async (server: TestServer, series: string) =>
  metricValue(await (await fetch(new URL('/metrics', server.url))).text(), series) ?? 0;

/**
 * A message that names 1,500 notifications by id only (as one too large to carry does): each
 * costs a receiver a database read, so a stream of them arrives faster than it is handled.
 */
const costlyMessage = () =>
  JSON.stringify({
    origin: 'flood',
    notifications: Array.from({ length: 1500 }, () => randomUUID()),
    entries: [],
  });

describe('the Redis bus backlog', () => {
  it('stays within its bound under a flood, and a dropped event still arrives once, from the log', async () => {
    const stream = await follow(pair.b, 'kai');
    const channel = `${pair.channelPrefix}events`;
    let flooding = true;
    let backlogPeak = 0;
    const flood = (async () => {
      while (flooding) {
        const batch = flooder.pipeline();
        for (let i = 0; i < 40; i++) batch.publish(channel, costlyMessage());
        await batch.exec();
      }
    })();
    try {
      // Full: messages are being dropped now.
      for (let start = Date.now(); Date.now() - start < 20_000;) {
        backlogPeak = Math.max(
          backlogPeak,
          await scrape(pair.b, 'notifications_bus_backlog_bytes'),
        );
        if ((await scrape(pair.b, 'notifications_bus_dropped_total')) > 0) break;
      }
      expect(await scrape(pair.b, 'notifications_bus_dropped_total')).toBeGreaterThan(0);
      const sent = await send(pair.a, {
        category: 'info',
        recipientIds: ['kai'],
        title: 'in a flood',
      });
      const [event] = await stream.waitForCount(1, 8000);
      expect(event!.data!.myNotifications.notification.id).toBe(sent.notification.id);
      backlogPeak = Math.max(backlogPeak, await scrape(pair.b, 'notifications_bus_backlog_bytes'));
    } finally {
      flooding = false;
      await flood;
    }
    expect(backlogPeak).toBeGreaterThan(0);
    expect(backlogPeak).toBeLessThanOrEqual(MAX_BUS_BACKLOG_BYTES);
    // Once, however it came.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(stream.results).toHaveLength(1);
  }, 60_000);
});
