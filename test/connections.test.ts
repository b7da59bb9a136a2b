import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_TOO_MANY_CONNECTIONS } from '../src/app.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Steps 2 and 5 of the process as records: a connection is a row while it is open.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: { MAX_CONNECTIONS_PER_USER: '2', INSTANCE_HEARTBEAT_SECONDS: '1' },
  });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Opens a signed-in socket and resolves once the server acknowledged it. */
async function connect(userId: string, sessionId?: string) {
  const token = await server.token(userId, { sessionId });
  let closed: { code: number; reason: string } | undefined;
  const client = server.wsClient(
    { authorization: `Bearer ${token}` },
    { onClose: (e) => (closed = e) },
  );
  await new Promise<void>((resolve) => {
    client.on('connected', () => resolve());
    client.on('closed', () => resolve());
  });
  return { client, closed: () => closed };
}

describe('connection records', () => {
  it('records a connection with its user, session and instance, and removes it on close', async () => {
    const { client } = await connect('mia', 'session-1');
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
    );
    expect(after).toBe(0);
  });

  it('refuses one connection over MAX_CONNECTIONS_PER_USER with 4429, other users unaffected', async () => {
    const first = await connect('ned');
    await connect('ned');
    const third = await connect('ned');
    expect(third.closed()?.code).toBe(CLOSE_TOO_MANY_CONNECTIONS);
    expect(third.closed()?.reason).toMatch(/at most 2/);
    expect(await database().connection.count({ where: { userId: 'ned' } })).toBe(2);
    expect((await connect('olga')).closed()).toBeUndefined();

    await first.client.dispose();
    await until(
      () => database().connection.count({ where: { userId: 'ned' } }),
      (n) => n === 1,
    );
    expect((await connect('ned')).closed()).toBeUndefined();
  });

  it('holds the limit when many connections of one user arrive at once', async () => {
    const attempts = await Promise.all(Array.from({ length: 8 }, () => connect('pia')));
    expect(attempts.filter((attempt) => !attempt.closed())).toHaveLength(2);
    expect(await database().connection.count({ where: { userId: 'pia' } })).toBe(2);
  });

  it('reaps the connections of an instance that stopped heartbeating', async () => {
    const deadInstance = randomUUID();
    await database().instance.create({
      data: { id: deadInstance, hostname: 'gone', heartbeatAt: new Date(Date.now() - 60_000) },
    });
    await database().connection.create({
      data: { id: randomUUID(), userId: 'quinn', instanceId: deadInstance },
    });
    const left = await until(
      () => database().connection.count({ where: { instanceId: deadInstance } }),
      (n) => n === 0,
    );
    expect(left).toBe(0);
    expect(await database().instance.findUnique({ where: { id: deadInstance } })).toBeNull();
  });
});
