import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { InboxDocument, MyNotificationsDocument } from '../client/graphql.js';
import { CLOSE } from '../src/sockets/close-codes.js';
import { pairForTests, TEST_REDIS_URL } from './helpers/cluster.js';
import { connectAs, follow, ok, send, subscribe, userSocket } from './helpers/operations.js';
import { until } from './helpers/wait.js';

// Several instances behind a load balancer, one PostgreSQL, one Redis.

const retentionRuns: string[] = [];
const pair = pairForTests({
  env: { MAX_CONNECTIONS_PER_USER: '2', RETENTION_INTERVAL_SECONDS: '1', LOG_LEVEL: 'info' },
  onLog: (line) => {
    if (line.msg === 'retention ran') retentionRuns.push(String(line.time));
  },
  categories: [{ name: 'info' }],
});

describe('across instances', () => {
  it("delivers a send through one instance to the user's sockets on every instance", async () => {
    const [onA, onB] = [await follow(pair.a, 'uma'), await follow(pair.b, 'uma')];
    const sent = await send(pair.a, { category: 'info', recipientIds: ['uma'], title: 'hello' });
    for (const stream of [onA, onB]) {
      const [event] = await stream.waitForCount(1);
      expect(event!.data!.myNotifications.notification.id).toBe(sent.notification.id);
    }
  });

  it('delivers a public send to users on every instance, exactly once each', async () => {
    const [victor, wendy] = [await follow(pair.a, 'victor'), await follow(pair.b, 'wendy')];
    const sent = await send(pair.b, { category: 'info', public: true, title: 'everyone' });
    for (const stream of [victor, wendy]) {
      await stream.waitForCount(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stream.results.map((r) => r.data!.myNotifications.notification.id)).toEqual([
        sent.notification.id,
      ]);
    }
  });

  it('holds one Redis subscription per instance, however many sockets it serves', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => follow(pair.a, `crowd-${i}`)));
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const [, count] = (await redis.pubsub('NUMSUB', `${pair.channelPrefix}events`)) as [
        string,
        number,
      ];
      expect(count).toBe(2);
    } finally {
      redis.disconnect();
    }
  });

  it('holds MAX_CONNECTIONS_PER_USER across the cluster', async () => {
    expect((await connectAs(pair.a, 'xena')).closed()).toBeUndefined();
    expect((await connectAs(pair.b, 'xena')).closed()).toBeUndefined();
    expect((await connectAs(pair.a, 'xena')).closed()?.code).toBe(CLOSE.tooManyConnections.code);
    expect((await connectAs(pair.b, 'xena')).closed()?.code).toBe(CLOSE.tooManyConnections.code);
  });

  it('runs the retention job exactly once per interval across instances, never twice', async () => {
    const INTERVAL_MS = 1000; // RETENTION_INTERVAL_SECONDS above
    const RUNS = 8;
    const start = retentionRuns.length;
    const runs = await until(
      () => retentionRuns.slice(start),
      (seen) => seen.length >= RUNS,
      20_000,
    );
    expect(runs.length, `${RUNS} retention runs within 20 s`).toBeGreaterThanOrEqual(RUNS);
    const times = runs.slice(0, RUNS).map(Number);
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    console.info('retention runs, ms apart:', JSON.stringify(gaps));
    // Never twice in one interval: the same due job run by both instances, or each instance
    // running a job of its own, puts two runs within half an interval of each other.
    expect(gaps.filter((gap) => gap < INTERVAL_MS / 2)).toEqual([]);
    // Once per interval: the runs span one interval each (a run can be picked up a poll late).
    const span = times.at(-1)! - times[0]!;
    expect(span).toBeGreaterThanOrEqual((RUNS - 1) * INTERVAL_MS * 0.9);
    expect(span).toBeLessThan((RUNS - 1 + 3) * INTERVAL_MS);
  }, 30_000);

  it('drains on stop: sockets close with 1001 and resume on another instance with nothing lost', async () => {
    const { eventCursor } = await ok(pair.a, InboxDocument, {}, 'yara');
    let closeCode: number | undefined;
    const socket = await userSocket(pair.a, 'yara', (event) => (closeCode = event.code));
    const stream = subscribe(socket, MyNotificationsDocument, { after: eventCursor });
    await send(pair.a, { category: 'info', recipientIds: ['yara'], title: 'before' });
    const [first] = await stream.waitForCount(1);
    await pair.a.app.stop();
    expect(
      await until(
        () => closeCode,
        (code) => code !== undefined,
      ),
    ).toBe(1001);

    const during = await send(pair.b, {
      category: 'info',
      recipientIds: ['yara'],
      title: 'during',
    });
    const resumed = subscribe(await userSocket(pair.b, 'yara'), MyNotificationsDocument, {
      after: first!.data!.myNotifications.cursor,
    });
    const [missed] = await resumed.waitForCount(1);
    expect(missed!.data!.myNotifications.notification.id).toBe(during.notification.id);
  });
});
