import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { guardSlowConsumers } from '../src/sockets/slow-consumer.js';
import { until } from './helpers/wait.js';

// The slow-consumer guard on its own, under graphql-ws as the service wires it: a subscription
// that produces as fast as it is pulled, a client that stops reading, and one that reads.

const MESSAGE_BYTES = 16 * 1024;
// Well under what the kernel buffers on loopback, so the stall is the guard's doing.
const MAX_BUFFERED = 256 * 1024;
const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { flood(count: Int!): String }
`);

interface Harness {
  url: string;
  /** How many events the subscription has produced so far. */
  produced(): number;
  serverSocketsOpen(): number;
  guard?: ReturnType<typeof guardSlowConsumers>;
  /** What had been produced when the guard closed the socket. */
  producedAtClose?: number;
  close(): Promise<void>;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(guarded: boolean): Promise<Harness> {
  let produced = 0;
  const payload = 'x'.repeat(MESSAGE_BYTES);
  const roots = {
    subscription: {
      flood: async function* ({ count }: { count: number }) {
        for (let i = 0; i < count; i++) {
          produced += 1;
          yield { flood: payload };
        }
      },
    },
  };
  const http: Server = createServer();
  const wsServer = new WebSocketServer({ server: http, path: '/graphql' });
  const guard = guarded
    ? guardSlowConsumers(wsServer, {
        maxBufferedBytes: MAX_BUFFERED,
        stallTimeoutMs: 500,
        closeGraceMs: 200,
        logger: { warn: () => (harness!.producedAtClose ??= produced) },
      })
    : undefined;
  const disposable = useServer({ schema, roots }, wsServer);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    produced: () => produced,
    serverSocketsOpen: () => wsServer.clients.size,
    guard,
    close: async () => {
      await disposable.dispose();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A raw graphql-ws client: init, subscribe to `count` events; resolves once subscribed. */
async function subscribeRaw(url: string, count: number) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const received = { next: 0, complete: false, closeCode: undefined as number | undefined };
  socket.on('close', (code) => (received.closeCode = code));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise<void>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'connection_ack') resolve();
      if (message.type === 'next') received.next += 1;
      if (message.type === 'complete') received.complete = true;
    });
  });
  socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: { query: 'subscription ($n: Int!) { flood(count: $n) }', variables: { n: count } },
    }),
  );
  return { socket, received };
}

describe('the slow-consumer guard', () => {
  it('closes a socket whose client stops reading, once its backlog has stayed over the limit for the stall timeout', async () => {
    harness = await start(true);
    const { socket, received } = await subscribeRaw(harness.url, 20_000);
    socket.pause();
    const open = await until(
      () => harness!.serverSocketsOpen(),
      (n) => n === 0,
      10_000,
    );
    expect(open).toBe(0);
    expect(harness.guard!.closedCount()).toBe(1);
    // What the kernel's socket buffers took, plus the limit, plus what came during the stall
    // (nothing more here: this source produces only when pulled). Far fewer than the 20,000.
    console.info(
      `slow consumer closed after ${harness.producedAtClose} events of ${MESSAGE_BYTES} bytes`,
    );
    expect(harness.producedAtClose).toBeLessThan(2000);
    socket.resume();
    await until(
      () => received.closeCode,
      (code) => code !== undefined,
    );
    expect(received.complete).toBe(false);
  });

  it('leaves a client that reads alone: it gets all of a long burst', async () => {
    harness = await start(true);
    const { received } = await subscribeRaw(harness.url, 3000);
    const done = await until(
      () => received.complete,
      (complete) => complete,
      20_000,
    );
    expect(done).toBe(true);
    expect(received.next).toBe(3000);
    expect(received.closeCode).toBeUndefined();
    expect(harness.guard!.closedCount()).toBe(0);
  });

  it('keeps a client that reads slowly: its subscription is paced, not closed', async () => {
    harness = await start(true);
    const { socket, received } = await subscribeRaw(harness.url, 1500);
    // Reads in short bursts with pauses just under the stall timeout (500 ms).
    const reader = (async () => {
      for (let i = 0; i < 200 && !received.complete && received.closeCode === undefined; i++) {
        socket.pause();
        await new Promise((resolve) => setTimeout(resolve, 400));
        socket.resume();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const done = await until(
      () => received.complete,
      (complete) => complete,
      30_000,
    );
    await reader;
    expect(done).toBe(true);
    expect(received.next).toBe(1500);
    expect(received.closeCode).toBeUndefined();
    expect(harness.guard!.closedCount()).toBe(0);
  }, 40_000);

  it('without the guard, a client that stops reading is never closed: its subscription just stalls', async () => {
    harness = await start(false);
    const { socket } = await subscribeRaw(harness.url, 20_000);
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stalledAt = harness.produced();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(harness.produced()).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(20_000);
    expect(harness.serverSocketsOpen()).toBe(1);
    socket.terminate();
  });
});
