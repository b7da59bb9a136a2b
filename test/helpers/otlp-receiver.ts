import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as an OTLP/HTTP JSON export carries it, with its resource's attributes beside it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  scope: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  status?: { code?: number; message?: string };
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value: AnyValue };
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: (Omit<ReceivedSpan, 'attributes' | 'resource' | 'scope'> & {
        attributes?: KeyValue[];
      })[];
    }[];
  }[];
}

/**
 * An OpenTelemetry collector as far as a test needs one: a real HTTP server taking OTLP/HTTP
 * JSON exports at /v1/traces and keeping every span it decodes. Anything else is refused, so
 * an exporter that sends protobuf or to the wrong path shows as spans that never arrive.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests refused, as `<method> <path> <content-type>`. */
  readonly refused: string[] = [];
  /** http://127.0.0.1:<port>, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint = '';
  private readonly server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const type = request.headers['content-type'] ?? '';
      if (
        request.method !== 'POST' ||
        request.url !== '/v1/traces' ||
        !type.startsWith('application/json')
      ) {
        this.refused.push(`${request.method} ${request.url} ${type}`);
        response.writeHead(415).end();
        return;
      }
      this.take(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.server.address() as AddressInfo;
    receiver.endpoint = `http://127.0.0.1:${port}`;
    return receiver;
  }

  /** Every span of `traceId`. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** `span`, its parent, and so on up to the root, as far as they were received. */
  ancestry(span: ReceivedSpan): ReceivedSpan[] {
    const chain = [span];
    for (;;) {
      const { parentSpanId, traceId } = chain.at(-1)!;
      const parent = parentSpanId
        ? this.spans.find((other) => other.traceId === traceId && other.spanId === parentSpanId)
        : undefined;
      if (!parent) return chain;
      chain.push(parent);
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private take(request: ExportRequest) {
    for (const { resource, scopeSpans } of request.resourceSpans ?? []) {
      const resourceAttributes = attributesOf(resource?.attributes);
      for (const { scope, spans } of scopeSpans ?? []) {
        for (const { attributes, ...span } of spans ?? []) {
          this.spans.push({
            ...span,
            parentSpanId: span.parentSpanId || undefined,
            scope: scope?.name ?? '',
            attributes: attributesOf(attributes),
            resource: resourceAttributes,
          });
        }
      }
    }
  }
}

const attributesOf = (list: KeyValue[] = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

function valueOf(value: AnyValue): unknown {
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue ?? value.doubleValue;
}
