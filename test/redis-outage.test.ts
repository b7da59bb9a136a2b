import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, MyNotificationsDocument } from '../client/graphql.js';
import type { Cluster } from './helpers/cluster.js';
import { startPairOnOwnRedis, type PairOnOwnRedis } from './helpers/fault-setup.js';
import { ok, send, subscribe, userSocket } from './helpers/operations.js';
import type { RedisProcess } from './helpers/redis-process.js';
import type { TestServer } from './helpers/server.js';
import { sleep, until } from './helpers/wait.js';

// Redis goes away for a while: sends are still stored and acknowledged, instances reconnect by
// themselves, and what was sent meanwhile reaches the sockets that stayed open.

let pair: PairOnOwnRedis;
let redis: RedisProcess;
let cluster: Cluster;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  pair = await startPairOnOwnRedis();
  ({ redis, cluster, a, b } = pair);
}, 30_000);
afterAll(() => pair?.stop());

const readiness = async (server: TestServer) => {
  const response = await fetch(new URL('/readyz', server.url));
  return {
    status: response.status,
    body: (await response.json()) as { status: string; checks: Record<string, string> },
  };
};
const degradedGauge = async (server: TestServer) => {
  const text = await (await fetch(new URL('/metrics', server.url))).text();
  return Number(/^notifications_degraded (\S+)$/m.exec(text)?.[1]);
};

/** Sends to `userId` through `server` every `intervalMs` until `stop()` holds; returns the ids. */
async function sendEvery(
  server: TestServer,
  userId: string,
  intervalMs: number,
  stop: () => boolean,
  label: string,
) {
  const ids: string[] = [];
  while (!stop()) {
    const next = Date.now() + intervalMs;
    const title = `${label}-${ids.length}`;
    ids.push(
      (await send(server, { category: 'info', recipientIds: [userId], title })).notification.id,
    );
    await sleep(next - Date.now());
  }
  return ids;
}

const OUTAGE_MS = 10_000;
const SEND_INTERVAL_MS = 100;

describe('a Redis outage', () => {
  it('keeps accepting a send every 100 ms through 10 s without Redis, stays ready but reports Redis degraded, and once it is back delivers each exactly once, in order', async () => {
    const { eventCursor, unseenCount: unseenBefore } = await ok(b, InboxDocument, {}, 'zoe');
    const stream = subscribe(await userSocket(b, 'zoe'), MyNotificationsDocument, {
      after: eventCursor,
    });
    // Live before the outage: one send through Redis arrives.
    const before = await send(a, { category: 'info', recipientIds: ['zoe'], title: 'before' });
    await stream.waitForCount(1);
    expect((await readiness(a)).status).toBe(200);

    await redis.stop();
    const outageEndsAt = Date.now() + OUTAGE_MS;
    // Sends for the whole outage; the instance answering them (a) is not the one holding the
    // socket (b), so only the log can carry them across.
    const whileDown = sendEvery(
      a,
      'zoe',
      SEND_INTERVAL_MS,
      () => Date.now() >= outageEndsAt,
      'down',
    );
    // Sends and delivery go on without Redis (from the log), so a load balancer must keep the
    // instance: ready, with Redis reported as degraded, in the body and in a metric.
    const down = await until(
      () => readiness(a),
      (r) => r.body.status !== 'ok',
    );
    expect(down.status).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.checks.redis).toMatch(/^failed/);
    expect(down.body.checks.database).toBe('ok');
    expect(await degradedGauge(a)).toBe(1);
    // Ten seconds down, as a failover or a restart would take, with sends to its last moment.
    const sent = await whileDown;
    for (let i = 0; i < 3; i++) {
      sent.push(
        (await send(a, { category: 'info', recipientIds: ['zoe'], title: `last-${i}` }))
          .notification.id,
      );
    }
    await redis.start();
    expect(sent.length).toBeGreaterThanOrEqual(OUTAGE_MS / SEND_INTERVAL_MS / 4);
    const up = await until(
      () => readiness(a),
      (r) => r.body.status === 'ok',
      10_000,
    );
    expect(up).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await degradedGauge(a)).toBe(0);
    console.info('redis outage:', JSON.stringify({ sent: sent.length }));

    // Every send was stored once, and acknowledged.
    const stored = await cluster.instances[0]!.app.services.database.notification.count({
      where: { id: { in: sent } },
    });
    expect(stored).toBe(sent.length);
    // Each arrives once, in the order sent (one at a time, so the order stored), with nothing
    // more sent that could reveal the gap: only the catch-up after reconnecting brings them.
    await stream.waitForCount(1 + sent.length, 15_000);
    // Then live delivery through Redis works again, and this marker lands right after them:
    // no duplicate came in between.
    const after = await send(a, { category: 'info', recipientIds: ['zoe'], title: 'after' });
    const events = (await stream.waitForCount(2 + sent.length)).map((r) => r.data!.myNotifications);
    expect(events.map((e) => e.notification.id)).toEqual([
      before.notification.id,
      ...sent,
      after.notification.id,
    ]);
    expect(stream.results).toHaveLength(2 + sent.length);
    // The cursor moves one step per event, and the count up by one each time.
    const userSeqs = events.map((e) => Number(e.cursor.split('.')[1]));
    expect(userSeqs).toEqual(userSeqs.map((_, i) => userSeqs[0]! + i));
    expect(events.map((e) => e.unseenCount)).toEqual(events.map((_, i) => unseenBefore + 1 + i));
    expect((await ok(b, InboxDocument, {}, 'zoe')).unseenCount).toBe(unseenBefore + events.length);
  }, 90_000);
});
