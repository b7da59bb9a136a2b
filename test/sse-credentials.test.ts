import { print } from 'graphql';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MyNotificationsDocument } from '../client/graphql.js';
import { pairForTests } from './helpers/cluster.js';
import { send } from './helpers/operations.js';
import { metricValue } from './helpers/raw-socket.js';
import { TEST_API_KEY, type TestServer } from './helpers/server.js';
import { serverSentEvents } from './helpers/sse.js';

// An SSE subscription lives only as long as its credentials, like a socket: when they end it
// gets one last event, an error whose code tells the client to get new ones, then `complete`,
// and its connection record goes.

const pair = pairForTests({
  env: { CREDENTIALS_RECHECK_SECONDS: '1' },
  categories: [{ name: 'news' }],
});

const rowsOf = (userId: string) =>
  pair.a.app.services.database.connection.count({ where: { userId } });

/** myNotifications over SSE on `server`; `events` yields each parsed event as it arrives. */
async function sse(server: TestServer, headers: Record<string, string>) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    // A variable of another name, as users write it.
    body: JSON.stringify({
      query: print(MyNotificationsDocument).replace(/\$after\b/g, '$since'),
      variables: { since: null },
    }),
  });
  expect(response.status).toBe(200);
  return serverSentEvents(response.body!)[Symbol.asyncIterator]();
}

/** The next event, or a failure saying what was awaited. */
async function nextEvent(events: AsyncIterator<{ event: string; data: string }>, what: string) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no SSE event within 8 s: ${what}`)), 8000);
  });
  try {
    return await Promise.race([events.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A JWT's `exp`, in ms since the epoch. */
const expiryOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp *
  1000;

describe('credentials of SSE subscriptions', () => {
  it('ends a subscription with UNAUTHENTICATED when its token expires, and removes its record', async () => {
    const token = await pair.b.token('ora', { ttl: '6s' });
    const expiresAt = expiryOf(token);
    const events = await sse(pair.b, { authorization: `Bearer ${token}` });
    // Live on b until then: a send through a arrives.
    await send(pair.a, { category: 'news', recipientIds: ['ora'], title: 'before expiry' });
    const delivered = await nextEvent(events, 'the CREATED event');
    expect(delivered.value).toMatchObject({ event: 'next' });
    expect(JSON.parse(delivered.value!.data)).toMatchObject({
      data: { myNotifications: { type: 'CREATED', notification: { title: 'before expiry' } } },
    });
    expect(Date.now()).toBeLessThan(expiresAt);
    expect(await rowsOf('ora')).toBe(1);

    // The record's row held past the expiry: the client must not hear of the end before its
    // record is gone, or one coming straight back could be refused by it.
    const holder = new pg.Client({ connectionString: pair.database.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "Connection" WHERE "userId" = 'ora' FOR UPDATE`);
    const last = nextEvent(events, 'the error ending the subscription');
    const heldUntil = expiresAt + 300;
    await new Promise((resolve) => setTimeout(resolve, heldUntil - Date.now()));
    await holder.query('COMMIT');
    await holder.end();
    const lastEvent = await last;
    const heardAt = Date.now();
    expect(await rowsOf('ora')).toBe(0);
    expect(heardAt).toBeGreaterThanOrEqual(heldUntil);
    expect(lastEvent.value).toMatchObject({ event: 'next' });
    expect(JSON.parse(lastEvent.value!.data)).toEqual({
      errors: [{ message: 'token expired', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    // At the token's exp (here, once the held row was let go), not at some later check.
    expect(heardAt - heldUntil).toBeLessThan(1500);
    expect((await nextEvent(events, 'complete')).value).toMatchObject({ event: 'complete' });
    expect((await nextEvent(events, 'the end of the response')).done).toBe(true);
    const metrics = await (await fetch(new URL('/metrics', pair.b.url))).text();
    expect(metricValue(metrics, 'notifications_sse_subscriptions')).toBe(0);
  });

  it('refuses an API key an SSE subscription, so a revoked key holds none', async () => {
    const events = await sse(pair.a, { 'x-api-key': TEST_API_KEY });
    const answer = await nextEvent(events, 'the refusal');
    expect(JSON.parse(answer.value!.data)).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN' } }],
    });
  });
});
