import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, MyNotificationsDocument } from '../client/graphql.js';
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
    const { eventCursor } = await ok(server, InboxDocument, {}, 'mo');
    const client = await userSocket(server, 'mo');
    const stream = subscribe(client, MyNotificationsDocument, { after: eventCursor });
    await send(server, { category: 'news', recipientIds: ['mo'], title: 'hello' });
    await stream.waitForCount(1);

    const text = await scrape();
    expect(value(text, 'notifications_connected_sockets')).toBe(1);
    expect(value(text, 'notifications_active_subscriptions{operation="myNotifications"}')).toBe(1);
    expect(value(text, 'notifications_sent_total{category="news",audience="private"}')).toBe(1);
    expect(value(text, 'notifications_deliveries_total{type="CREATED"}')).toBe(1);
    expect(value(text, 'notifications_send_to_deliver_seconds_count')).toBe(1);
    expect(value(text, 'notifications_dependency_up{dependency="database"}')).toBe(1);
    // Yoga's own request metrics are in the same registry.
    expect(text).toMatch(/^graphql_envelop_request_duration_count/m);

    await client.dispose();
    const after = await until(scrape, (t) => value(t, 'notifications_connected_sockets') === 0);
    expect(value(after, 'notifications_active_subscriptions{operation="myNotifications"}')).toBe(0);
  });

  it('counts what the retention job deleted', async () => {
    const deleteAt = new Date(Date.now() + 1000).toISOString();
    await send(server, { category: 'news', public: true, title: 'brief', deleteAt });
    const text = await until(
      scrape,
      (t) => (value(t, 'notifications_retention_deleted_total') ?? 0) >= 1,
      10_000,
    );
    expect(value(text, 'notifications_retention_deleted_total')).toBe(1);
  });
});
