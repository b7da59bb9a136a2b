import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { clientMessageReviver } from '../src/sockets/client-messages.js';

// A message only a server may send, sent by a client (found by test/fuzz.test.ts): graphql-ws
// answers it as an internal error (4500) unless the reviver refuses it while parsing (4400).

const schema = buildSchema('type Query { ok: Boolean }');
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start(withReviver: boolean) {
  const http = createServer();
  const wsServer = new WebSocketServer({ server: http, path: '/graphql' });
  const server = useServer(
    { schema, ...(withReviver ? { jsonMessageReviver: clientMessageReviver } : {}) },
    wsServer,
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  close = async () => {
    await server.dispose();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  };
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
}

/** Sends `messages` in order; resolves with the close code, or 'open' after a while. */
async function session(url: string, messages: unknown[]) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve) => socket.once('open', resolve));
  for (const message of messages) {
    socket.send(JSON.stringify(message));
    // Each after the server has taken the one before (a subscribe waits for the ack).
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const code = await Promise.race([
    closed,
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300)),
  ]);
  socket.terminate();
  return code;
}

const init = { type: 'connection_init' };

describe('clientMessageReviver', () => {
  it.each(['connection_ack', 'next', 'error'])(
    'closes with 4400 when a client sends %s',
    async (type) => {
      const url = await start(true);
      expect(await session(url, [init, { type, id: '1', payload: {} }])).toBe(4400);
    },
  );

  it('lets every message a client may send through', async () => {
    const url = await start(true);
    const messages = [
      init,
      { type: 'ping' },
      { type: 'pong' },
      { type: 'subscribe', id: '1', payload: { query: '{ ok }' } },
      { type: 'complete', id: '1' },
    ];
    expect(await session(url, messages)).toBe('open');
  });

  it('without it, graphql-ws closes such a socket as an internal error (4500)', async () => {
    const url = await start(false);
    expect(await session(url, [init, { type: 'connection_ack' }])).toBe(4500);
  });
});
