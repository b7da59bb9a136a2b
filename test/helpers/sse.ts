import type { Sink } from 'graphql-ws';
import type { Subscriber } from './stream.js';

/**
 * Subscriptions over Server-Sent Events, as a browser behind a proxy that blocks WebSockets
 * would run them: a POST to /graphql asking for `text/event-stream`, one request per operation.
 */
export function sseClient(url: string, headers: Record<string, string> = {}): Subscriber {
  return {
    subscribe<Data = Record<string, unknown>, Extensions = unknown>(
      payload: { query: string; variables?: Record<string, unknown> | null },
      sink: Sink<{ data?: Data; errors?: unknown[]; extensions?: Extensions }>,
    ) {
      const controller = new AbortController();
      void (async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
          body: JSON.stringify(payload),
          signal: controller.signal,
        });
        if (!response.ok || !response.body) {
          throw new Error(`SSE request answered ${response.status}: ${await response.text()}`);
        }
        for await (const event of serverSentEvents(response.body)) {
          if (event.event === 'next') sink.next(JSON.parse(event.data) as never);
          if (event.event === 'complete') break;
        }
        sink.complete();
      })().catch((error: unknown) => {
        if ((error as Error).name !== 'AbortError') sink.error(error);
      });
      return () => controller.abort();
    },
  } as Subscriber;
}

/** Parses a `text/event-stream` body into its events; comment lines (keep-alive pings) are skipped. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}
