import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../src/auth/api-keys.js';
import { CLOSE } from '../src/sockets/close-codes.js';
import { openRawSocket } from './helpers/raw-socket.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Credentials are re-checked while a socket lives: a token is good until its `exp`, an API key
// until it is revoked, on whichever instance the socket is.

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  // One socket per user on a: an old socket's record left behind refuses the next one.
  a = await startTestServer({
    env: { CREDENTIALS_RECHECK_SECONDS: '1', MAX_CONNECTIONS_PER_USER: '1' },
  });
  b = await startTestServer({
    database: { url: a.databaseUrl },
    env: { CREDENTIALS_RECHECK_SECONDS: '1' },
  });
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

/** A socket on `server` acknowledged with `payload`, and a query answered on it. */
async function usable(server: TestServer, payload: Record<string, unknown>, query: string) {
  const socket = await openRawSocket(server.wsUrl);
  socket.send({ type: 'connection_init', payload });
  await socket.message('connection_ack');
  socket.send({ id: 'first', type: 'subscribe', payload: { query } });
  const answer = await socket.message('next', 'first');
  expect(answer.payload).not.toHaveProperty('errors');
  return socket;
}

describe('credentials on open sockets', () => {
  it('closes a socket with 4401 when its token expires', async () => {
    const token = await a.token('fay', { ttl: '3s' });
    const socket = await usable(a, { authorization: `Bearer ${token}` }, '{ unseenCount }');
    const closed = await socket.closed(8000);
    expect(closed).toEqual({ code: CLOSE.unauthorized.code, reason: 'token expired' });
  });

  it('removes the record before closing, so a client coming straight back is not refused by it', async () => {
    const token = await a.token('ida', { ttl: '3s' });
    const expiresAt =
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number })
        .exp * 1000;
    const socket = await usable(a, { authorization: `Bearer ${token}` }, '{ unseenCount }');
    // The record's row held past the expiry: the socket may close only once the record is gone.
    const holder = new pg.Client({ connectionString: a.databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "Connection" WHERE "userId" = 'ida' FOR UPDATE`);
    let closedAt = 0;
    const closed = socket.closed(8000).then((why) => ((closedAt = Date.now()), why));
    const heldUntil = expiresAt + 300;
    await new Promise((resolve) => setTimeout(resolve, heldUntil - Date.now()));
    await holder.query('COMMIT');
    await holder.end();
    expect(await closed).toEqual({ code: CLOSE.unauthorized.code, reason: 'token expired' });
    expect(closedAt).toBeGreaterThanOrEqual(heldUntil);
    // Straight back with a new token, at MAX_CONNECTIONS_PER_USER 1.
    const again = await usable(
      a,
      { authorization: `Bearer ${await a.token('ida')}` },
      '{ unseenCount }',
    );
    again.socket.close();
  });

  it('closes a socket authenticated by operation headers when that token expires', async () => {
    const token = await a.token('gus', { ttl: '3s' });
    const socket = await openRawSocket(a.wsUrl);
    socket.send({ type: 'connection_init' });
    await socket.message('connection_ack');
    socket.send({
      id: '1',
      type: 'subscribe',
      payload: {
        query: '{ unseenCount }',
        extensions: { headers: { authorization: `Bearer ${token}` } },
      },
    });
    await socket.message('complete', '1');
    const closed = await socket.closed(8000);
    expect(closed).toEqual({ code: CLOSE.unauthorized.code, reason: 'token expired' });
  });

  it('closes the socket of a revoked API key on another instance within seconds', async () => {
    const key = await createApiKey(a.app.services.database, 'reporting');
    const socket = await usable(b, { apiKey: key }, '{ categories { name } }');
    const untouched = await usable(
      b,
      { apiKey: await createApiKey(a.app.services.database, 'other') },
      '{ categories { name } }',
    );

    // As `npm run apikey -- revoke reporting` does, through instance a's database.
    expect(await revokeApiKey(a.app.services.database, 'reporting')).toBe(true);
    const revokedAt = Date.now();
    const closed = await socket.closed(5000);
    expect(closed).toEqual({ code: CLOSE.unauthorized.code, reason: 'API key revoked' });
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(untouched.isOpen()).toBe(true);
    untouched.socket.close();
  });
});
