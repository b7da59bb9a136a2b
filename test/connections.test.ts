import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';
import { connectAs } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { sleep, until } from './helpers/wait.js';

// Steps 2 and 5 of the process as records: a connection is a row while it is open.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: { MAX_CONNECTIONS_PER_USER: '2', INSTANCE_HEARTBEAT_SECONDS: '1' },
  });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;

describe('connection records', () => {
  it('records a connection with its user, session and instance, and removes it on close', async () => {
    const { client } = await connectAs(server, 'mia', 'session-1');
    const rows = await database().connection.findMany({ where: { userId: 'mia' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      sessionId: 'session-1',
      instanceId: server.app.services.instanceId,
    });
    await client.dispose();
    const after = await until(
      () => database().connection.count({ where: { userId: 'mia' } }),
      (n) => n === 0,
      5000,
      "mia's connection records to be gone",
    );
    expect(after).toBe(0);
  });

  it('refuses one connection over MAX_CONNECTIONS_PER_USER with 4431, other users unaffected', async () => {
    const first = await connectAs(server, 'ned');
    await connectAs(server, 'ned');
    const third = await connectAs(server, 'ned');
    expect(third.closed()?.code).toBe(CLOSE.tooManyConnections.code);
    expect(third.closed()?.reason).toMatch(/at most 2/);
    expect(await database().connection.count({ where: { userId: 'ned' } })).toBe(2);
    expect((await connectAs(server, 'olga')).closed()).toBeUndefined();

    await first.client.dispose();
    await until(
      () => database().connection.count({ where: { userId: 'ned' } }),
      (n) => n === 1,
      5000,
      "ned's one connection record",
    );
    expect((await connectAs(server, 'ned')).closed()).toBeUndefined();
  });

  it('holds the limit when many connections of one user arrive at once', async () => {
    const attempts = await Promise.all(Array.from({ length: 8 }, () => connectAs(server, 'pia')));
    expect(attempts.filter((attempt) => !attempt.closed())).toHaveLength(2);
    expect(await database().connection.count({ where: { userId: 'pia' } })).toBe(2);
  });

  it('removes the records of many sockets closing at once (a reconnect wave), and serves a connect meanwhile', async () => {
    const users = Array.from({ length: 150 }, (_, i) => `wave-${i}`);
    const clients = await Promise.all(users.map((user) => connectAs(server, user)));
    expect(await database().connection.count({ where: { userId: { in: users } } })).toBe(150);
    await Promise.all(clients.map(({ client }) => client.dispose()));
    // Back at once, while the others' records are being removed.
    const back = await connectAs(server, 'wave-0');
    expect(back.closed()).toBeUndefined();
    const left = await until(
      () => database().connection.findMany({ where: { userId: { in: users } } }),
      (rows) => rows.length === 1,
      5000,
      'only the returning socket to be recorded',
    );
    expect(left).toMatchObject([{ userId: 'wave-0' }]);
    await back.client.dispose();
  });

  it('stops only once the records of the sockets it sent away are removed, none into a closed pool', async () => {
    const warnings: Record<string, unknown>[] = [];
    const own = await startTestServer({
      env: { LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_SECONDS: '20' },
      onLog: (line) => warnings.push(line),
    });
    const users = Array.from({ length: 40 }, (_, i) => `leaving-${i}`);
    await Promise.all(users.map((user) => connectAs(own, user)));
    // The records' rows held, as by a busy database: their removals wait in line.
    const holder = new pg.Client({ connectionString: own.databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "Connection" WHERE "userId" LIKE 'leaving-%' FOR UPDATE`);
    const stopped = own.stop();
    await sleep(500);
    await holder.query('COMMIT');
    await holder.end();
    await stopped;
    const notRemoved = warnings.filter((line) => line.msg === 'connection record not removed');
    expect(notRemoved, JSON.stringify(warnings)).toEqual([]);
  });

  it('reaps the connections of an instance that stopped heartbeating', async () => {
    const deadInstance = randomUUID();
    // One statement: the reaper (every second) may take the instance between two.
    await database().instance.create({
      data: {
        id: deadInstance,
        hostname: 'gone',
        heartbeatAt: new Date(Date.now() - 60_000),
        connections: { create: { id: randomUUID(), userId: 'quinn' } },
      },
    });
    const left = await until(
      () => database().connection.count({ where: { instanceId: deadInstance } }),
      (n) => n === 0,
      5000,
      "the dead instance's connection records to be reaped",
    );
    expect(left).toBe(0);
    expect(await database().instance.findUnique({ where: { id: deadInstance } })).toBeNull();
  });
});
