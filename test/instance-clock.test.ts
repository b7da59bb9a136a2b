import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// Heartbeats and the reap cutoff come from the database's clock: an instance whose own clock is
// 30 s behind beats like any other and is never taken for dead.

const SKEWED_CLOCK = fileURLToPath(new URL('./helpers/skewed-clock.mjs', import.meta.url));

let server: TestServer;
let skewed: ServiceProcess;
beforeAll(async () => {
  server = await startTestServer({ env: { INSTANCE_HEARTBEAT_SECONDS: '1' } });
  skewed = await startServiceProcess({
    DATABASE_URL: server.databaseUrl,
    INSTANCE_HEARTBEAT_SECONDS: '1',
    NODE_OPTIONS: `--import ${SKEWED_CLOCK}`,
    CLOCK_SKEW_MS: '-30000',
  });
}, 90_000);
afterAll(async () => {
  await skewed?.stop();
  await server?.stop();
});

describe('instance heartbeats', () => {
  it('does not reap an instance whose clock is 30 s behind', async () => {
    const database = server.app.services.database;
    const own = server.app.services.instanceId;
    const other = await until(
      () => database.instance.findFirst({ where: { id: { not: own } } }),
      (row) => row !== null,
    );
    expect(other, 'the skewed instance registered').not.toBeNull();

    // Five beats of the instance with the right clock, each followed by its reap.
    const beats = new Set<number>();
    const seen = await until(
      async () => {
        const [mine, theirs] = await Promise.all([
          database.instance.findUnique({ where: { id: own } }),
          database.instance.findUnique({ where: { id: other!.id } }),
        ]);
        if (mine) beats.add(mine.heartbeatAt.getTime());
        return { beats: beats.size, theirs };
      },
      ({ beats: n, theirs }) =>
        n >= 6 || theirs?.startedAt.getTime() !== other!.startedAt.getTime(),
      15_000,
    );
    expect(seen.beats).toBeGreaterThanOrEqual(6);
    expect(
      seen.theirs?.startedAt,
      'the skewed instance was never reaped and registered again',
    ).toEqual(other!.startedAt);
    expect(skewed.child.stdout).not.toMatch(/reaped; registered again/);
  });
});
