import WebSocket from 'ws';

/** A graphql-transport-ws socket driven message by message, as a hand-written client would. */
export interface RawSocket {
  socket: WebSocket;
  send(message: Record<string, unknown>): void;
  /** Resolves with the first message of `type` (and `id`, if given) received from now on or before. */
  message(type: string, id?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason; fails saying what it waited for after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
}

export async function openRawSocket(url: string): Promise<RawSocket> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const received: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let close: { code: number; reason: string } | undefined;
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const listener of listeners) listener();
  });
  socket.on('close', (code, reason) => {
    close = { code, reason: String(reason) };
    for (const listener of listeners) listener();
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });

  /** Waits for `found` to return something, failing with `what` after `timeoutMs`. */
  const waitFor = <T>(found: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value === undefined) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    socket,
    send: (message) => socket.send(JSON.stringify(message)),
    message: (type, id, timeoutMs = 5000) =>
      waitFor(
        () => received.find((m) => m.type === type && (id === undefined || m.id === id)),
        `a "${type}" message${id ? ` for ${id}` : ''}`,
        timeoutMs,
      ),
    closed: (timeoutMs = 5000) => waitFor(() => close, 'the socket to close', timeoutMs),
    isOpen: () => socket.readyState === socket.OPEN,
  };
}

/** The value of one series in a Prometheus text exposition; undefined if absent. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** What a connection attempt came to: acknowledged, closed with a code, or no answer in time. */
export type ConnectOutcome = 'ack' | 'no answer' | number;

/**
 * One graphql-transport-ws connection attempt with `token`, as a flood of clients makes them;
 * the socket is handed back open (when acknowledged) for the caller to close.
 */
export async function attemptConnect(
  url: string,
  token: string,
  timeoutMs: number,
): Promise<{ outcome: ConnectOutcome; socket: WebSocket }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  socket.on('error', () => {});
  const outcome = await new Promise<ConnectOutcome>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), timeoutMs);
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
      ),
    );
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') {
        clearTimeout(timer);
        resolve('ack');
      }
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { outcome, socket };
}
