import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';
import { connectAs } from './helpers/operations.js';
import { metricValue, openRawSocket, type RawSocket } from './helpers/raw-socket.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// No connection record outlives its socket, whatever the socket does while its connect waits
// on the database, and anonymous sockets neither stay nor pile up.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: {
      MAX_CONNECTIONS_PER_USER: '3',
      WS_ANONYMOUS_TIMEOUT_MS: '1500',
      WS_MAX_ANONYMOUS_PER_IP: '3',
    },
  });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;
const rowsOf = (userId: string) => database().connection.count({ where: { userId } });
const scrapeSockets = async () => {
  const text = await (await fetch(new URL('/metrics', server.url))).text();
  return metricValue(text, 'notifications_connected_sockets');
};

/** A raw socket that sent connection_init with `payload` (nothing: anonymous). */
async function initialised(payload?: Record<string, unknown>) {
  const socket = await openRawSocket(server.wsUrl);
  socket.send({ type: 'connection_init', ...(payload && { payload }) });
  return socket;
}

/** Advisory locks held or awaited in this test's database (connects take one per user). */
async function advisoryLocks(client: pg.Client) {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks
     WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return Number(rows[0]!.n);
}

describe('connection records', () => {
  it('removes the record of a socket that closed while its connect waited on the database', async () => {
    const lockHolder = new pg.Client({ connectionString: server.databaseUrl });
    await lockHolder.connect();
    try {
      // Holding the user's lock makes the connects wait, so the sockets close first.
      await lockHolder.query(`SELECT pg_advisory_lock(hashtext('connections:' || $1))`, ['ayla']);
      const token = await server.token('ayla');
      const aborted = await Promise.all(
        Array.from({ length: 3 }, () => initialised({ authorization: `Bearer ${token}` })),
      );
      // One connect of a user per instance waits on the database; the others queue behind it in
      // the process, holding no pooled connection.
      await until(
        () => advisoryLocks(lockHolder),
        (n) => n === 2,
      ).then((n) => expect(n, 'one connect waiting on the lock, one held').toBe(2));
      for (const socket of aborted) socket.socket.close();
      await Promise.all(aborted.map((socket) => socket.closed()));
      await lockHolder.query(`SELECT pg_advisory_unlock(hashtext('connections:' || $1))`, ['ayla']);
      // Every waiting connect has committed once no lock is left.
      await until(
        () => advisoryLocks(lockHolder),
        (n) => n === 0,
      );
    } finally {
      await lockHolder.end();
    }
    expect(
      await until(
        () => rowsOf('ayla'),
        (n) => n === 0,
      ),
    ).toBe(0);

    const open = await Promise.all([1, 2, 3].map(() => connectAs(server, 'ayla')));
    expect(open.map((connection) => connection.closed())).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(await rowsOf('ayla')).toBe(3);
    expect(await scrapeSockets()).toBe(3);
    await Promise.all(open.map((connection) => connection.client.dispose()));
    expect(
      await until(
        () => rowsOf('ayla'),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(await until(scrapeSockets, (n) => n === 0)).toBe(0);
  });

  it('records an anonymous socket once when its first operations authenticate it at the same time', async () => {
    const token = await server.token('bo');
    const socket = await initialised();
    await socket.message('connection_ack');
    // As GraphiQL sends them: the Headers tab in each operation's extensions.
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) {
      socket.send({
        id,
        type: 'subscribe',
        payload: {
          query: `query Count${id} { count: unseenCount }`,
          extensions: { headers: { Authorization: `Bearer ${token}` } },
        },
      });
    }
    const answers = await Promise.all(ids.map((id) => socket.message('next', id)));
    for (const answer of answers) {
      expect(answer.payload).toEqual({ data: { count: 0 } });
    }
    expect(await rowsOf('bo')).toBe(1);
    expect(await scrapeSockets()).toBe(1);

    socket.socket.close();
    await socket.closed();
    expect(
      await until(
        () => rowsOf('bo'),
        (n) => n === 0,
      ),
    ).toBe(0);
    const others = await Promise.all([1, 2, 3].map(() => connectAs(server, 'bo')));
    expect(others.map((connection) => connection.closed())).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(await rowsOf('bo')).toBe(3);
    await Promise.all(others.map((connection) => connection.client.dispose()));
    expect(await until(scrapeSockets, (n) => n === 0)).toBe(0);
  });

  it('answers an operation over the connection limit with the same code as a connect over it', async () => {
    const held = await Promise.all([1, 2, 3].map(() => connectAs(server, 'cai')));
    const overByConnect = await connectAs(server, 'cai');
    expect(overByConnect.closed()?.code).toBe(CLOSE.tooManyConnections.code);

    const socket = await initialised();
    await socket.message('connection_ack');
    socket.send({
      id: '1',
      type: 'subscribe',
      payload: {
        query: '{ unseenCount }',
        extensions: { headers: { authorization: `Bearer ${await server.token('cai')}` } },
      },
    });
    const refused = await socket.message('error', '1');
    expect(refused.payload).toMatchObject([{ extensions: { code: 'TOO_MANY_CONNECTIONS' } }]);
    expect(await rowsOf('cai')).toBe(3);
    socket.socket.close();
    await Promise.all(held.map((connection) => connection.client.dispose()));
    expect(
      await until(
        () => rowsOf('cai'),
        (n) => n === 0,
      ),
    ).toBe(0);
  });
});

describe('anonymous sockets', () => {
  it('closes an anonymous socket that authenticates no operation within WS_ANONYMOUS_TIMEOUT_MS', async () => {
    const socket = await initialised();
    await socket.message('connection_ack');
    const opened = Date.now();
    const closed = await socket.closed(10_000);
    expect(closed.code).toBe(CLOSE.anonymousTimeout.code);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1000);
  });

  it('keeps an anonymous socket that authenticated an operation in time', async () => {
    const socket = await initialised();
    await socket.message('connection_ack');
    socket.send({
      id: '1',
      type: 'subscribe',
      payload: {
        query: '{ unseenCount }',
        extensions: { headers: { authorization: `Bearer ${await server.token('dee')}` } },
      },
    });
    await socket.message('complete', '1');
    // Past the anonymous timeout: still open, and a later operation is answered.
    await expect(socket.closed(2500)).rejects.toThrow(/timed out/);
    socket.send({ id: '2', type: 'subscribe', payload: { query: '{ unseenCount }' } });
    expect((await socket.message('next', '2')).payload).toEqual({ data: { unseenCount: 0 } });
    socket.socket.close();
  });

  it('caps anonymous sockets per address at WS_MAX_ANONYMOUS_PER_IP', async () => {
    const anonymous: RawSocket[] = [];
    for (let i = 0; i < 3; i += 1) {
      const socket = await initialised();
      await socket.message('connection_ack');
      anonymous.push(socket);
    }
    const fourth = await initialised();
    const refused = await fourth.closed();
    expect(refused.code).toBe(CLOSE.tooManyConnections.code);
    expect(refused.reason).toMatch(/anonymous/);

    // Signed-in sockets from the same address are not capped.
    expect((await connectAs(server, 'eve')).closed()).toBeUndefined();
    // A closed anonymous socket frees its place.
    anonymous[0]!.socket.close();
    await anonymous[0]!.closed();
    const again = await until(
      async () => {
        const socket = await initialised();
        return Promise.race([
          socket.message('connection_ack').then(() => socket),
          socket.closed().then(() => undefined),
        ]);
      },
      (socket) => socket !== undefined,
    );
    expect(again?.isOpen()).toBe(true);
    for (const socket of [...anonymous, again!]) socket.socket.close();
  });
});
