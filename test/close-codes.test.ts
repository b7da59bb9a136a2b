import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode, createClient } from 'graphql-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { describe, expect, it } from 'vitest';
import { CLOSE } from '../src/sockets/close-codes.js';

// The one table of close codes: ours never take a number graphql-ws uses, graphql-ws's keep its
// meaning, each entry's retry rule is what graphql-ws's own client does, and the README agrees.

const entries = Object.values(CLOSE);
// 4499 (terminated), 4504 (ack timeout), 4004 and 4005 are set by graphql-ws's client itself.
const GRAPHQL_WS_CODES = new Set<number>([
  ...Object.values(CloseCode).filter((value): value is number => typeof value === 'number'),
  4499,
]);

/** Whether graphql-ws's client, allowed one retry, reconnects after the server closes with `code`. */
async function clientRetriesAfter(code: number): Promise<boolean> {
  const http = createServer();
  const wsServer = new WebSocketServer({ server: http });
  let connections = 0;
  wsServer.on('connection', (socket) => {
    connections += 1;
    socket.once('message', () => socket.close(code, 'closed by the test'));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    await new Promise<void>((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 1,
        retryWait: async () => {},
        onNonLazyError: () => {
          void client.dispose();
          resolve();
        },
      });
    });
    return connections > 1;
  } finally {
    wsServer.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
}

describe('close codes', () => {
  it('uses every number once', () => {
    expect(new Set(entries.map((entry) => entry.code)).size).toBe(entries.length);
  });

  it("gives none of graphql-ws's codes another meaning, and takes none of them as ours", () => {
    for (const entry of entries) {
      const ofGraphqlWs = GRAPHQL_WS_CODES.has(entry.code);
      expect(ofGraphqlWs, `${entry.code} (${entry.owner})`).toBe(entry.owner === 'graphql-ws');
    }
    expect(CLOSE.unauthorized.code).toBe(CloseCode.Unauthorized);
    expect(CLOSE.badRequest.code).toBe(CloseCode.BadRequest);
    expect(CLOSE.tooManyInitialisationRequests.code).toBe(CloseCode.TooManyInitialisationRequests);
    expect(CLOSE.connectionInitTimeout.code).toBe(CloseCode.ConnectionInitialisationTimeout);
  });

  it.each(entries.map((entry) => [entry.code, entry] as const))(
    "states graphql-ws's client's retry rule for %i",
    async (_code, entry) => {
      expect(await clientRetriesAfter(entry.code)).toBe(entry.clientRetries);
    },
  );

  it('lists every code in the README with its meaning and retry rule', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    // Rows of the close-code table: | `code` | owner | meaning | what the client does |
    const rows = readme
      .split('\n')
      .filter((line) => /^\| `\d{4}`/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows).toEqual(
      entries.map((entry) => [`\`${entry.code}\``, entry.owner, entry.meaning, entry.retry]),
    );
  });
});
