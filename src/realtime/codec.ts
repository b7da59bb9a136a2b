import type { NotificationRecord, StreamEvent } from '../notifications/types.js';

// StreamEvents as JSON for Redis: bigints become strings and dates ISO strings, and back.

type Json = Record<string, unknown>;

const DATE_FIELDS = ['createdAt', 'expiresAt', 'deleteAt'] as const;

/** What travels between instances: events, or a signal naming a stream. */
export type BusMessage =
  { origin: string; events: StreamEvent[] } | { origin: string; signal: string };

export function encodeMessage(message: BusMessage): string {
  return JSON.stringify(message, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

export function decodeMessage(text: string): BusMessage {
  const message = JSON.parse(text) as { origin: string; events?: Json[]; signal?: string };
  if (message.signal !== undefined) return { origin: message.origin, signal: message.signal };
  return { origin: message.origin, events: (message.events ?? []).map(decodeEvent) };
}

function decodeEvent(event: Json): StreamEvent {
  const notification = event.notification as Json;
  const receipt = event.receipt as { seenAt: string | null; acknowledgedAt: string | null } | null;
  const revived: Json = { ...notification, seq: BigInt(notification.seq as string) };
  for (const field of DATE_FIELDS) {
    revived[field] = notification[field] == null ? null : new Date(notification[field] as string);
  }
  return {
    id: BigInt(event.id as string),
    stream: event.stream as string,
    seq: BigInt(event.seq as string),
    type: event.type as StreamEvent['type'],
    notification: revived as unknown as NotificationRecord,
    receipt: receipt && {
      seenAt: receipt.seenAt ? new Date(receipt.seenAt) : null,
      acknowledgedAt: receipt.acknowledgedAt ? new Date(receipt.acknowledgedAt) : null,
    },
  };
}
