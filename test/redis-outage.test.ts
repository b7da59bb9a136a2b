import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, MyNotificationsDocument } from '../client/graphql.js';
import { startCluster, type Cluster } from './helpers/cluster.js';
import { ok, send, subscribe, upsertCategory, userSocket } from './helpers/operations.js';
import { RedisProcess } from './helpers/redis-process.js';
import type { TestServer } from './helpers/server.js';
import { sleep, until } from './helpers/wait.js';

// Redis goes away for a while: sends are still stored and acknowledged, instances reconnect by
// themselves, and what was sent meanwhile reaches the sockets that stayed open.

let redis: RedisProcess;
let cluster: Cluster;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  redis = await RedisProcess.start();
  cluster = await startCluster(2, { redisUrl: redis.url });
  [a, b] = cluster.instances as [TestServer, TestServer];
  await upsertCategory(a, { name: 'info' });
}, 30_000);
afterAll(async () => {
  await cluster.stop();
  await redis.stop();
});

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

describe('a Redis outage', () => {
  it('keeps accepting sends for 10 s without Redis, stays ready but reports Redis degraded, and delivers everything once it is back', async () => {
    const { eventCursor } = await ok(b, InboxDocument, {}, 'zoe');
    const stream = subscribe(await userSocket(b, 'zoe'), MyNotificationsDocument, {
      after: eventCursor,
    });
    expect((await readiness(a)).status).toBe(200);

    await redis.stop();
    const stoppedAt = Date.now();
    const sentDuringOutage = [];
    for (let i = 0; i < 5; i++) {
      sentDuringOutage.push(
        await send(a, { category: 'info', recipientIds: ['zoe'], title: `n${i}` }),
      );
    }
    const stored = await cluster.instances[0]!.app.services.database.notification.count({
      where: { id: { in: sentDuringOutage.map((s) => s.notification.id) } },
    });
    expect(stored).toBe(5);
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

    // Ten seconds down, as a failover or a restart would take.
    await sleep(stoppedAt + 10_000 - Date.now());
    await redis.start();
    const up = await until(
      () => readiness(a),
      (r) => r.body.status === 'ok',
      10_000,
    );
    expect(up).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await degradedGauge(a)).toBe(0);
    await stream.waitForCount(5, 10_000);
    expect(stream.results.map((r) => r.data!.myNotifications.notification.id)).toEqual(
      sentDuringOutage.map((s) => s.notification.id),
    );
    // And live delivery through Redis works again.
    const after = await send(a, { category: 'info', recipientIds: ['zoe'], title: 'after' });
    const events = await stream.waitForCount(6);
    expect(events[5]!.data!.myNotifications.notification.id).toBe(after.notification.id);
  }, 60_000);
});
