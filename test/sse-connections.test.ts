import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCursorDocument, MyNotificationsDocument } from '../client/graphql.js';
import { CLOSE } from '../src/sockets/close-codes.js';
import {
  connectAs,
  ok,
  send,
  subscribe,
  upsertCategory,
  userSocket,
} from './helpers/operations.js';
import { metricValue } from './helpers/raw-socket.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// An SSE subscription is a connection like a socket: recorded while it lasts, under the same
// per-user limit, counted in metrics.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { MAX_CONNECTIONS_PER_USER: '2' } });
  await upsertCategory(server, { name: 'news' });
});
afterAll(() => server.stop());

const rowsOf = (userId: string) =>
  server.app.services.database.connection.count({ where: { userId } });
const scrape = async (series: string) =>
  metricValue(await (await fetch(new URL('/metrics', server.url))).text(), series);

/** myNotifications over SSE; resolves once the response's first bytes are in. */
async function sse(userId: string) {
  const controller = new AbortController();
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${await server.token(userId)}`,
    },
    body: JSON.stringify({ query: print(MyNotificationsDocument), variables: {} }),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const read = async (until: (text: string) => boolean) => {
    while (!until(text)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  };
  return {
    response,
    read,
    close: () => {
      controller.abort();
      return reader.cancel().catch(() => {});
    },
  };
}

describe('SSE subscriptions as connections', () => {
  it('records each SSE subscription, holds MAX_CONNECTIONS_PER_USER across SSE and sockets, and counts them', async () => {
    const first = await sse('hal');
    const second = await sse('hal');
    expect(first.response.status).toBe(200);
    expect(
      await until(
        () => rowsOf('hal'),
        (n) => n === 2,
      ),
    ).toBe(2);
    expect(await scrape('notifications_sse_subscriptions')).toBe(2);

    const third = await sse('hal');
    const refusal = await third.read((text) => text.includes('TOO_MANY_CONNECTIONS'));
    expect(refusal).toContain('"code":"TOO_MANY_CONNECTIONS"');
    const socket = await connectAs(server, 'hal');
    expect(socket.closed()?.code).toBe(CLOSE.tooManyConnections.code);
    expect(await rowsOf('hal')).toBe(2);

    await first.close();
    expect(
      await until(
        () => rowsOf('hal'),
        (n) => n === 1,
      ),
    ).toBe(1);
    expect(
      await until(
        () => scrape('notifications_sse_subscriptions'),
        (n) => n === 1,
      ),
    ).toBe(1);
    expect((await connectAs(server, 'hal')).closed()).toBeUndefined();
    await second.close();
    await third.close();
    expect(
      await until(
        () => scrape('notifications_sse_subscriptions'),
        (n) => n === 0,
      ),
    ).toBe(0);
  });

  it("leaves subscriptions over a socket to the socket's one record", async () => {
    const client = await userSocket(server, 'ian');
    // From a cursor: a subscription counted as active may not listen yet, and the replay from
    // `after` covers a send in that moment (without it, the send could be missed).
    const { eventCursor: after } = await ok(server, EventCursorDocument, {}, 'ian');
    const streams = [1, 2, 3].map(() => subscribe(client, MyNotificationsDocument, { after }));
    await until(
      () => scrape('notifications_active_subscriptions{operation="myNotifications"}'),
      (n) => n === 3,
    );
    await send(server, { category: 'news', recipientIds: ['ian'], title: 'to three streams' });
    await Promise.all(streams.map((stream) => stream.waitForCount(1)));
    expect(await rowsOf('ian')).toBe(1);
    expect(await scrape('notifications_sse_subscriptions')).toBe(0);
  });
});
