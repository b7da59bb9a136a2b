import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as JSON, once the reference verifier (standardwebhooks) accepted its signature. */
  payload?: { type: string; timestamp: string; data: Record<string, unknown> };
  /** Why the reference verifier refused it, when it did. */
  refused?: string;
  status: number;
}

/**
 * A real HTTP receiver on 127.0.0.1, port 0: checks each request's signature with the secret its
 * path was registered with, and answers what `answer` says (a status, or 'hang' to never answer).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly secrets = new Map<string, string>();
  answer: (path: string, count: number) => number | 'hang' = () => 200;
  private server!: Server;
  private readonly hanging = new Set<() => void>();
  origin = '';

  static async start() {
    const receiver = new WebhookReceiver();
    receiver.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        const count = receiver.received.filter((entry) => entry.path === path).length;
        const answer = receiver.answer(path, count);
        const entry: ReceivedWebhook = {
          path,
          headers: request.headers,
          body,
          status: answer === 'hang' ? 0 : answer,
        };
        try {
          const secret = receiver.secrets.get(path);
          if (!secret) throw new Error(`no secret for ${path}`);
          entry.payload = new Webhook(secret).verify(body, {
            'webhook-id': String(request.headers['webhook-id']),
            'webhook-timestamp': String(request.headers['webhook-timestamp']),
            'webhook-signature': String(request.headers['webhook-signature']),
          }) as ReceivedWebhook['payload'];
        } catch (error) {
          entry.refused = (error as Error).message;
        }
        receiver.received.push(entry);
        if (answer === 'hang') {
          receiver.hanging.add(() => response.destroy());
          return;
        }
        response.statusCode = answer;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.origin = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** A URL of its own for one webhook, whose deliveries are checked with `secret` once known. */
  url(path: string) {
    return `${this.origin}${path}`;
  }

  at(path: string) {
    return this.received.filter((entry) => entry.path === path);
  }

  async stop() {
    for (const end of this.hanging) end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
