import { MessageType } from 'graphql-ws';

/** The graphql-transport-ws messages a client may send; the others only go to clients. */
const FROM_CLIENTS = new Set<string>([
  MessageType.ConnectionInit,
  MessageType.Ping,
  MessageType.Pong,
  MessageType.Subscribe,
  MessageType.Complete,
]);

/**
 * A `jsonMessageReviver` for graphql-ws's server that refuses, as it parses them, messages only a
 * server may send (`connection_ack`, `next`, `error`). graphql-ws itself accepts their shape and
 * then throws on them, which closes the socket with 4500 (internal error), as if the server had
 * failed, and logs a stack for each: any client could fill the logs that way. Refused here, they
 * close it with 4400 (bad request), as the protocol says for a message out of place.
 *
 * JSON.parse calls a reviver for every value, innermost first; only the whole message (key "")
 * is looked at.
 */
export function clientMessageReviver(this: unknown, key: string, value: unknown): unknown {
  if (key !== '' || typeof value !== 'object' || value === null) return value;
  const type = (value as { type?: unknown }).type;
  if (typeof type === 'string' && !FROM_CLIENTS.has(type)) {
    throw new Error(`a client may not send ${type}`);
  }
  return value;
}
