import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/ports.js';
import { RedisProcess } from './helpers/redis-process.js';
import { Child, TSX, serviceEnv } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { until } from './helpers/wait.js';

const get = async (base: string, path: string) => {
  const response = await fetch(new URL(path, base));
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as { status: string; checks?: Record<string, string> },
  };
};

describe('with its database up', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('answers /healthz with 200 {status: ok}', async () => {
    expect(await get(server.url, '/healthz')).toEqual({
      status: 200,
      type: 'application/json',
      body: { status: 'ok' },
    });
  });

  it('answers /readyz with 200 and the database check ok', async () => {
    expect(await get(server.url, '/readyz')).toEqual({
      status: 200,
      type: 'application/json',
      body: { status: 'ok', checks: { database: 'ok' } },
    });
  });
});

describe('when its Redis goes away while it runs', () => {
  // Without Redis, sends are stored and subscribers are served from the log: the instance can
  // still serve, so it stays ready and says Redis is degraded.
  let redis: RedisProcess;
  let server: TestServer;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    server = await startTestServer({ env: { REDIS_URL: redis.url } });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  const degraded = async () => {
    const text = await (await fetch(new URL('/metrics', server.url))).text();
    return Number(/^notifications_degraded (\S+)$/m.exec(text)?.[1]);
  };

  it('answers /readyz with 200, status degraded and the failed Redis check, and says so in a metric', async () => {
    expect(await get(server.url, '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { database: 'ok', redis: 'ok' } },
    });
    expect(await degraded()).toBe(0);

    await redis.stop();

    const ready = await until(
      () => get(server.url, '/readyz'),
      (answer) => answer.body.status !== 'ok',
    );
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks).toMatchObject({
      database: 'ok',
      redis: expect.stringMatching(/^failed/),
    });
    expect(await degraded()).toBe(1);

    await redis.start();
    const back = await until(
      () => get(server.url, '/readyz'),
      (answer) => answer.body.status === 'ok',
      10_000,
    );
    expect(back).toMatchObject({ status: 200, body: { checks: { redis: 'ok' } } });
    expect(await degraded()).toBe(0);
  }, 30_000);
});

describe('when its database goes away while it runs', () => {
  // The service (a real process: an uncaught error would end it) reaches PostgreSQL through a
  // proxy the test can cut; start-up needs the database, so it is taken away afterwards.
  let database: TestDatabase;
  let proxy: TcpProxy;
  let dataDir: string;
  let service: Child;
  let url: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'health-test-'));
    service = new Child(
      TSX,
      ['src/main.ts'],
      serviceEnv({
        DATABASE_URL: proxied.toString(),
        PORT: String(await freePort()),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'debug', // each shutdown step's duration
      }),
    );
    url = (await service.waitForLog('listening')).url as string;
  }, 60_000);
  afterAll(async () => {
    service?.kill();
    await proxy?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers /readyz with 503 naming the failed database check; /healthz still 200', async () => {
    expect((await get(url, '/readyz')).status).toBe(200);

    await proxy.cut();

    const ready = await get(url, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('unavailable');
    expect(ready.body.checks?.database).toMatch(/^failed/);
    expect(await get(url, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('keeps running without its database, and is ready again once it is back', async () => {
    // Long enough for every pooled connection to notice the loss and for a job poll to fail.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await proxy.restore();
    const ready = await until(
      () => get(url, '/readyz'),
      (answer) => answer.status === 200,
      10_000,
    );
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'ok' } });
  }, 30_000);

  it('still stops cleanly on SIGTERM', async () => {
    service.signal('SIGTERM');
    const exit = await service.waitForExit(15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    const lines = service.logLines();
    expect(lines.map((line) => line.msg)).toContain('stopped');
    // Cleanly: every step finished (the job store's LISTEN connection, lost and reconnected,
    // included), none was given up on.
    expect(lines.filter((line) => line.msg === 'shutdown step timed out')).toEqual([]);
    expect(
      lines.filter((line) => line.msg === 'shutdown step done').map((line) => line.step),
    ).toEqual([
      'sockets',
      'http',
      'snooze waker',
      'scheduled sends',
      'webhooks',
      'jobs',
      'connections',
      'bus',
      'rate limits',
      'database client',
      'database pool',
    ]);
  });
});
