import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, MyNotificationsDocument } from '../client/graphql.js';
import { createMetrics } from '../src/observability/metrics.js';
import { ok, send, subscribe, upsertCategory, userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// GET /metrics: Prometheus text with the service's own metrics beside Yoga's.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { RETENTION_INTERVAL_SECONDS: '1' } });
  await upsertCategory(server, { name: 'news' });
});
afterAll(() => server.stop());

async function scrape(): Promise<string> {
  const response = await fetch(new URL('/metrics', server.url));
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one series, e.g. value(text, 'x_total{type="CREATED"}'); undefined if absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts sockets, subscriptions, sends, deliveries and their latency, and dependencies', async () => {
    const sockets = 'notifications_connected_sockets';
    const subscriptions = 'notifications_active_subscriptions{operation="myNotifications"}';
    const before = await scrape();
    const [socketsBefore, subscriptionsBefore] = [
      value(before, sockets) ?? 0,
      value(before, subscriptions) ?? 0,
    ];
    const { eventCursor } = await ok(server, InboxDocument, {}, 'mo');
    const client = await userSocket(server, 'mo');
    const stream = subscribe(client, MyNotificationsDocument, { after: eventCursor });
    await send(server, { category: 'news', recipientIds: ['mo'], title: 'hello' });
    await stream.waitForCount(1);

    const text = await scrape();
    expect(value(text, sockets)).toBe(socketsBefore + 1);
    expect(value(text, subscriptions)).toBe(subscriptionsBefore + 1);
    expect(value(text, 'notifications_sent_total{category="news",audience="private"}')).toBe(1);
    expect(value(text, 'notifications_deliveries_total{type="CREATED"}')).toBe(1);
    expect(value(text, 'notifications_send_to_deliver_seconds_count')).toBe(1);
    expect(value(text, 'notifications_dependency_up{dependency="database"}')).toBe(1);
    // Yoga's own request metrics are in the same registry.
    expect(text).toMatch(/^graphql_envelop_request_duration_count/m);

    // Both gauges come back to exactly where they were once the socket is gone.
    await client.dispose();
    const gauges = async () => {
      const now = await scrape();
      return { sockets: value(now, sockets), subscriptions: value(now, subscriptions) };
    };
    const expected = { sockets: socketsBefore, subscriptions: subscriptionsBefore };
    expect(
      await until(
        gauges,
        (now) => now.sockets === expected.sockets && now.subscriptions === expected.subscriptions,
        5000,
        `the gauges back to ${JSON.stringify(expected)} after the socket closed`,
      ),
    ).toEqual(expected);
  });

  it('counts what the retention job deleted', async () => {
    const deleteAt = new Date(Date.now() + 1000).toISOString();
    await send(server, { category: 'news', public: true, title: 'brief', deleteAt });
    const text = await until(
      scrape,
      (t) => (value(t, 'notifications_retention_deleted_total') ?? 0) >= 1,
      10_000,
      'the retention job to count a deletion',
    );
    expect(value(text, 'notifications_retention_deleted_total')).toBe(1);
  });
});

describe('dependency metrics', () => {
  it('checks each dependency once per scrape, for notifications_dependency_up and notifications_degraded together', async () => {
    const calls = { database: 0, redis: 0 };
    const metrics = createMetrics({
      database: { check: async () => void calls.database++, optional: false },
      redis: {
        check: async () => {
          calls.redis++;
          throw new Error('redis away');
        },
        optional: true,
      },
    });
    const text = await metrics.registry.metrics();
    expect(value(text, 'notifications_dependency_up{dependency="database"}')).toBe(1);
    expect(value(text, 'notifications_dependency_up{dependency="redis"}')).toBe(0);
    expect(value(text, 'notifications_degraded')).toBe(1);
    expect(calls).toEqual({ database: 1, redis: 1 });
    await metrics.registry.metrics();
    expect(calls).toEqual({ database: 2, redis: 2 });
  });
});
