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
    body: (await response.json()) as { checks: Record<string, string> },
  };
};

describe('a Redis outage', () => {
  it('keeps accepting sends for 10 s without Redis, reports not ready, and delivers everything once it is back', async () => {
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
    const down = await until(
      () => readiness(a),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.body.checks.redis).toMatch(/^failed/);

    // Ten seconds down, as a failover or a restart would take.
    await sleep(stoppedAt + 10_000 - Date.now());
    await redis.start();
    const up = await until(
      () => readiness(a),
      (r) => r.status === 200,
      10_000,
    );
    expect(up.status).toBe(200);
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
