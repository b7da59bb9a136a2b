import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ws from 'ws';

// The baseline: the least a Node process can do to fan a message out over WebSockets. A bare
// `ws` server; POST /broadcast builds the frame once and writes it to every socket.

/** ws's frame builder, public at runtime but missing from its type definitions. */
interface FrameBuilder {
  frame(data: Buffer, options: Record<string, unknown>): Buffer[];
}

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/broadcast') {
    response.writeHead(404).end();
    return;
  }
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    const frame = (ws as unknown as { Sender: FrameBuilder }).Sender.frame(Buffer.from(body), {
      fin: true,
      opcode: 1,
      mask: false,
      readOnly: true,
      rsv1: false,
    });
    for (const client of wss.clients) {
      // The socket under the WebSocket: writing the prebuilt frame skips per-client framing.
      const socket = (client as unknown as { _socket: NodeJS.WritableStream })._socket;
      for (const part of frame) socket.write(part);
    }
    response.writeHead(204).end();
  });
});
const wss = new ws.WebSocketServer({ server });
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
