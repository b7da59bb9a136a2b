import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { createRedisBus } from '../src/realtime/redis-bus.js';
import type { EventBus } from '../src/notifications/event-bus.js';
import { TEST_REDIS_URL } from './helpers/cluster.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { sleep, until } from './helpers/wait.js';

// The bus's subscriber connection takes up its channels again whenever Redis comes back. That
// SUBSCRIBE is in flight for a moment; an instance stopped in that moment, with Redis gone again
// before answering (a deploy while Redis restarts), must stop cleanly, not die of an unhandled
// rejection of the interrupted SUBSCRIBE.

// Redis behind a proxy in this process: the proxy reads what the bus wrote only on a later turn
// of the event loop, so a cut made as the bus sees Redis back leaves its SUBSCRIBE unanswered.
let redis: TcpProxy;
let database: Database;
beforeAll(async () => {
  const { hostname, port } = new URL(TEST_REDIS_URL);
  redis = await startTcpProxy({ host: hostname, port: Number(port) });
  database = createDatabase(inject('postgresAdminUrl'));
});
afterAll(async () => {
  await database?.$disconnect();
  await redis?.close();
});

const unhandled: unknown[] = [];
const record = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', record));
afterAll(() => void process.off('unhandledRejection', record));
afterEach(async () => {
  unhandled.length = 0;
  await redis.restore();
});

let instances = 0;
const throughProxy = () => `redis://127.0.0.1:${redis.port}`;

/** A bus at `url`, on the channel these tests share, whose log lines go to `onLine`. */
function busAt(url: string, onLine: (message: string) => void = () => {}): EventBus {
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        onLine((JSON.parse(line) as { msg: string }).msg);
      }
      done();
    },
  });
  return createRedisBus({
    target: { url },
    shards: 1,
    channelPrefix: 'reconnect-test:',
    instanceId: `reconnect-test-${++instances}`,
    logger: createLogger('info', lines),
    database,
  });
}

describe('the Redis bus', () => {
  it('closes without an unhandled rejection when closed as Redis comes back and goes again', async () => {
    let closed = false;
    const bus: EventBus = busAt(throughProxy(), (message) => {
      // Written from the subscriber's 'ready' listener, just after its re-SUBSCRIBE went out.
      if (message.startsWith('redis connection back') && !closed) {
        closed = true;
        void bus.close();
        void redis.cut();
      }
    });
    await bus.start();
    await redis.cut();
    await redis.restore();
    await until(
      () => closed,
      (done) => done,
      10_000,
      'the bus to see Redis back',
    );
    // Rejections are reported after the microtasks of the close have run.
    await sleep(200);
    expect(unhandled).toEqual([]);
  });

  it('receives what other instances publish again once Redis is back, after telling its subscribers to catch up', async () => {
    const away = busAt(throughProxy());
    const direct = busAt(TEST_REDIS_URL);
    try {
      await Promise.all([away.start(), direct.start()]);
      const signals: string[] = [];
      let resyncs = 0;
      away.onSignal('ana', () => signals.push('ana'));
      away.onResync(() => resyncs++);
      await direct.signal('ana');
      await until(
        () => signals.length,
        (n) => n === 1,
        5000,
        'the signal before the outage',
      );

      await redis.cut();
      await redis.restore();
      await until(
        () => resyncs,
        (n) => n === 1,
        10_000,
        'the catch-up once Redis is back',
      );
      await direct.signal('ana');
      await until(
        () => signals.length,
        (n) => n === 2,
        5000,
        'the signal after the outage',
      );
    } finally {
      await Promise.all([away.close(), direct.close()]);
    }
  });
});
