import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { startLatencyProxy, type LatencyProxy } from './helpers/latency-proxy.js';
import { attemptConnect } from './helpers/raw-socket.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// A flood of one user's connects against an instance whose database is a network hop away and
// whose pool is small. A connect that held a pooled connection across round trips, or while it
// waited on the user's other connects, would take the whole pool: the flood then runs out of
// time (1013) instead of meeting the limit, and everyone else waits with it.

const MAX_CONNECTIONS_PER_USER = 3;
const FLOOD = 40;
/** Each way: a round trip costs 50 ms, whatever the machine's load. */
const DATABASE_DELAY_MS = 25;
const POOL_SIZE = 2;
const ATTEMPT_TIMEOUT_MS = 30_000;

let database: TestDatabase;
let proxy: LatencyProxy;
let a: TestServer;
let b: TestServer;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const direct = new URL(database.url);
  proxy = await startLatencyProxy(
    { host: direct.hostname, port: Number(direct.port) },
    DATABASE_DELAY_MS,
  );
  const proxied = new URL(database.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const options = {
    database: { url: proxied.toString() },
    env: {
      MAX_CONNECTIONS_PER_USER: String(MAX_CONNECTIONS_PER_USER),
      DATABASE_POOL_SIZE: String(POOL_SIZE),
    },
  };
  a = await startTestServer(options);
  b = await startTestServer(options);
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await a?.stop();
  await b?.stop();
  await proxy?.close();
  await database?.drop();
});

/** A raw graphql-transport-ws connect: 'ack', the close code, or 'no answer' after a while. */
async function attempt(server: TestServer, userId: string) {
  const { outcome, socket } = await attemptConnect(
    server.wsUrl,
    await server.token(userId),
    ATTEMPT_TIMEOUT_MS,
  );
  sockets.push(socket);
  return outcome;
}

const tally = (outcomes: ('ack' | 'no answer' | number)[]) => {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
};

const recordsOf = async (userId: string) =>
  Number(
    (
      await query<{ n: string }>(
        database.url,
        `SELECT count(*) AS n FROM "Connection" WHERE "userId" = $1`,
        [userId],
      )
    )[0]!.n,
  );

describe('a flood of one user connecting', () => {
  it(`${FLOOD} connects at once through a ${POOL_SIZE}-connection pool: exactly the limit accepted, the rest refused with ${CLOSE.tooManyConnections.code}; others served meanwhile`, async () => {
    const flood = Promise.all(Array.from({ length: FLOOD }, () => attempt(a, 'flooder')));
    // Others arrive while the flood is waiting on the database.
    const others = Promise.all(['ola', 'per', 'rut'].map((userId) => attempt(a, userId)));
    const inbox = a.request<{ unseenCount: number }>('{ count: unseenCount }', {}, 'sol');

    const outcomes = tally(await flood);
    console.info('connect flood outcomes:', JSON.stringify(outcomes));
    expect(outcomes).toEqual({
      ack: MAX_CONNECTIONS_PER_USER,
      [CLOSE.tooManyConnections.code]: FLOOD - MAX_CONNECTIONS_PER_USER,
    });
    expect(await recordsOf('flooder')).toBe(MAX_CONNECTIONS_PER_USER);
    expect(await others).toEqual(['ack', 'ack', 'ack']);
    const answer = await inbox;
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({ count: 0 });
  }, 60_000);

  it('holds the limit exactly when one user connects to two instances at once', async () => {
    const outcomes = tally(
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => attempt(i % 2 === 0 ? a : b, 'twofold')),
      ),
    );
    expect(outcomes).toEqual({
      ack: MAX_CONNECTIONS_PER_USER,
      [CLOSE.tooManyConnections.code]: 12 - MAX_CONNECTIONS_PER_USER,
    });
    expect(await recordsOf('twofold')).toBe(MAX_CONNECTIONS_PER_USER);
  }, 60_000);
});
