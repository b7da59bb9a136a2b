import type {
  Fold,
  NotificationRecord,
  ReceiptTimes,
  StreamEvent,
} from '../notifications/types.js';

// What travels between instances on Redis, as JSON: bigints as strings, dates as ISO strings.
//
// Redis drops a subscriber whose pending output passes `client-output-buffer-limit pubsub`
// (32 MB by default), so no message may be large however large the send: a publish is packed
// into messages of at most MAX_BUS_MESSAGE_BYTES. A notification's content travels once per
// publish, in the first message that needs it, and each event is a compact entry pointing at it.
// Later messages of the same publish, and content too large for any message, carry only the
// notification's id: receivers take the content from a recent message or read it from the
// database (a notification is committed before it is published). A DELETED event's notification
// is a small tombstone, always carried whole. While tracing is on, every message of a publish
// carries the sender's W3C traceparent (55 bytes), so the receiver continues the send's trace.

/** The upper bound of every bus message, in bytes of UTF-8 JSON. */
export const MAX_BUS_MESSAGE_BYTES = 64 * 1024;
/**
 * Content larger than this travels by id. What is left of a message holds the envelope and at
 * least one entry: a stream name of 255 characters takes at most 1,530 bytes escaped.
 */
const MAX_CONTENT_BYTES = MAX_BUS_MESSAGE_BYTES - 4 * 1024;

/** A notification in a message: its record, or only its id when the content travels apart. */
export type CarriedNotification = { record: NotificationRecord } | { id: string };

/** An event in a message; `notification` indexes the message's `notifications`. */
export type CarriedEvent = Omit<StreamEvent, 'notification'> & { notification: number };

export type BusMessage =
  | { origin: string; signal: string }
  | {
      origin: string;
      notifications: CarriedNotification[];
      events: CarriedEvent[];
      /** The W3C traceparent of the publish, when it was traced. */
      trace?: string;
    };

/** A W3C traceparent (version 00): anything else is left out, so it adds at most 64 bytes. */
const TRACEPARENT = /^00-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;
const traceparentOf = (value: unknown) =>
  typeof value === 'string' && TRACEPARENT.test(value) ? value : undefined;

/**
 * On the wire: [stream, seq, id, type, notification index, receipt or null, receipt before or
 * null, fold or null], a receipt as [seenAt, acknowledgedAt, archivedAt, snoozedUntil,
 * updatedAt], a fold as [groupCount, replaces, replacedCounted, replacedExpiresAt].
 */
type WireEntry = [
  string,
  string,
  string,
  StreamEvent['type'],
  number,
  WireReceipt,
  WireReceipt?,
  WireFold?,
];
type WireFold = [number, string | null, boolean, string | null] | null;
type WireReceipt = (string | null)[] | null;
type Json = Record<string, unknown>;

const toJson = (value: unknown) =>
  JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'bigint' ? field.toString() : field,
  );
const bytes = (text: string) => Buffer.byteLength(text);

export function encodeSignal(origin: string, stream: string): string {
  return toJson({ origin, signal: stream });
}

/** Packs events into messages of at most MAX_BUS_MESSAGE_BYTES, in order. */
export function encodeEvents(origin: string, events: StreamEvent[], trace?: string): string[] {
  const traced = traceparentOf(trace);
  const head = `{"origin":${toJson(origin)},${traced ? `"trace":"${traced}",` : ''}"notifications":[`;
  const middle = '],"entries":[';
  const tail = ']}';
  const emptyBytes = bytes(head) + middle.length + tail.length;
  // How each notification goes into the next message that needs it: whole, until it was sent.
  const wire = new Map<string, string>();
  const messages: string[] = [];
  let notifications: string[] = [];
  let entries: string[] = [];
  let indexes = new Map<string, number>();
  let size = emptyBytes;

  const flush = () => {
    messages.push(head + notifications.join(',') + middle + entries.join(',') + tail);
    [notifications, entries, indexes, size] = [[], [], new Map(), emptyBytes];
  };
  const add = (event: StreamEvent) => {
    const key = keyOf(event);
    const index = indexes.get(key);
    const notification = index === undefined ? wireNotification(wire, key, event) : undefined;
    const entry = toJson(wireEntry(event, index ?? notifications.length));
    const added = bytes(entry) + 1 + (notification === undefined ? 0 : bytes(notification) + 1);
    if (size + added > MAX_BUS_MESSAGE_BYTES) return false;
    if (notification !== undefined) {
      indexes.set(key, notifications.length);
      notifications.push(notification);
      // Sent once: later messages name it by id, except a tombstone, which is small.
      if (event.type !== 'DELETED') wire.set(key, toJson(event.notification.id));
    }
    entries.push(entry);
    size += added;
    return true;
  };

  for (const event of events) {
    if (add(event)) continue;
    flush();
    if (!add(event)) throw new Error(`event ${event.id} does not fit in a bus message`);
  }
  if (entries.length > 0) flush();
  return messages;
}

/** Events of one notification in one publish share its record; a DELETED one, its tombstone. */
const keyOf = (event: StreamEvent) =>
  `${event.notification.id}${event.type === 'DELETED' ? ':tombstone' : ''}`;

function wireNotification(wire: Map<string, string>, key: string, event: StreamEvent) {
  let text = wire.get(key);
  if (text === undefined) {
    text = toJson(event.notification);
    if (bytes(text) > MAX_CONTENT_BYTES && event.type !== 'DELETED') {
      text = toJson(event.notification.id);
    }
    wire.set(key, text);
  }
  return text;
}

function wireEntry(event: StreamEvent, notification: number): WireEntry {
  return [
    event.stream,
    event.seq.toString(),
    event.id.toString(),
    event.type,
    notification,
    wireReceipt(event.receipt),
    wireReceipt(event.before ?? null),
    event.fold
      ? [
          event.fold.groupCount,
          event.fold.replaces,
          event.fold.replacedCounted,
          iso(event.fold.replacedExpiresAt),
        ]
      : null,
  ];
}

const decodeFold = ([
  groupCount,
  replaces,
  replacedCounted,
  replacedExpiresAt,
]: NonNullable<WireFold>): Fold => ({
  groupCount,
  replaces,
  replacedCounted,
  replacedExpiresAt: date(replacedExpiresAt),
});

const RECEIPT_FIELDS = [
  'seenAt',
  'acknowledgedAt',
  'archivedAt',
  'snoozedUntil',
  'updatedAt',
] as const satisfies readonly (keyof ReceiptTimes)[];

const wireReceipt = (receipt: ReceiptTimes | null): WireReceipt =>
  receipt && RECEIPT_FIELDS.map((field) => iso(receipt[field]));

export function decodeMessage(text: string): BusMessage {
  const message = JSON.parse(text) as {
    origin: string;
    signal?: string;
    trace?: unknown;
    notifications?: (Json | string)[];
    entries?: WireEntry[];
  };
  if (message.signal !== undefined) return { origin: message.origin, signal: message.signal };
  const trace = traceparentOf(message.trace);
  return {
    origin: message.origin,
    ...(trace && { trace }),
    notifications: (message.notifications ?? []).map((notification) =>
      typeof notification === 'string'
        ? { id: notification }
        : { record: decodeRecord(notification) },
    ),
    events: (message.entries ?? []).map(
      ([stream, seq, id, type, notification, receipt, before, fold]) => ({
        stream,
        seq: BigInt(seq),
        id: BigInt(id),
        type,
        notification,
        receipt: receipt && decodeReceipt(receipt),
        before: before ? decodeReceipt(before) : null,
        fold: fold ? decodeFold(fold) : null,
      }),
    ),
  };
}

const DATE_FIELDS = ['createdAt', 'editedAt', 'expiresAt', 'deleteAt'] as const;

function decodeRecord(notification: Json): NotificationRecord {
  const revived: Json = { ...notification, seq: BigInt(notification.seq as string) };
  for (const field of DATE_FIELDS) revived[field] = date(notification[field] as string | null);
  return revived as unknown as NotificationRecord;
}

const decodeReceipt = (wire: (string | null)[]): ReceiptTimes =>
  Object.fromEntries(
    RECEIPT_FIELDS.map((field, index) => [field, date(wire[index])]),
  ) as unknown as ReceiptTimes;

const iso = (value: Date | null) => value?.toISOString() ?? null;
const date = (value: string | null | undefined) => (value == null ? null : new Date(value));
