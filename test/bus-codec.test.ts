import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NotificationRecord, StreamEvent } from '../src/notifications/types.js';
import { LIMITS } from '../src/notifications/validation.js';
import { MAX_BUS_MESSAGE_BYTES, decodeMessage, encodeEvents } from '../src/realtime/codec.js';

// Any publish the limits allow, packed into bus messages: each within the bound, in order,
// each notification's content carried whole at most once, and read back as it was sent.

// Short and as long as allowed, of any code points (control characters take 6 bytes in JSON).
const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary', maxLength, size: 'max' }),
  );
const date = fc.date({ min: new Date(0), max: new Date(2 ** 42), noInvalidDate: true });

const notification: fc.Arbitrary<NotificationRecord> = fc.record({
  id: fc.uuid(),
  seq: fc.bigInt({ min: 1n, max: 2n ** 62n }),
  categoryName: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  priority: fc.constantFrom('LOW', 'NORMAL', 'HIGH'),
  requireAck: fc.boolean(),
  batchWindowSeconds: fc.option(fc.nat()),
  public: fc.boolean(),
  sender: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  title: text(LIMITS.titleLength),
  body: fc.option(text(LIMITS.bodyLength)),
  data: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), text(LIMITS.dataBytes / 4))),
  icon: fc.option(text(LIMITS.urlLength)),
  actionUrl: fc.option(text(LIMITS.urlLength)),
  templateKey: fc.option(fc.string({ maxLength: 64 })),
  groupKey: fc.option(text(LIMITS.groupKeyLength)),
  createdAt: date,
  editedAt: fc.option(date),
  expiresAt: fc.option(date),
  deleteAt: date,
}) as fc.Arbitrary<NotificationRecord>;

const receipt = fc.record({
  seenAt: fc.option(date),
  acknowledgedAt: fc.option(date),
  archivedAt: fc.option(date),
  snoozedUntil: fc.option(date),
  updatedAt: fc.option(date),
});

/** What a grouped send's CREATED event carries. */
const fold = fc.record({
  groupCount: fc.integer({ min: 1, max: 1_000_000 }),
  replaces: fc.option(fc.uuid()),
  replacedCounted: fc.boolean(),
  replacedExpiresAt: fc.option(date),
});

const publish: fc.Arbitrary<StreamEvent[]> = fc
  .tuple(
    fc.array(notification, { minLength: 1, maxLength: 3 }),
    fc.array(
      fc.record({
        which: fc.nat(),
        stream: fc.oneof(
          fc.constant('public'),
          text(LIMITS.userIdLength).map((id) => `user:${id}`),
        ),
        type: fc.constantFrom(
          'CREATED',
          'SEEN',
          'ACKNOWLEDGED',
          'DELETED',
          'ARCHIVED',
          'UNSEEN',
          'SNOOZED',
          'UNSNOOZED',
          'UPDATED',
        ),
        receipt: fc.option(receipt),
        before: fc.option(receipt),
        fold: fc.option(fold),
      }),
      { minLength: 1, maxLength: 400, size: 'max' },
    ),
  )
  .map(([notifications, drafts]) =>
    drafts.map((draft, index) => ({
      id: BigInt(index + 1),
      stream: draft.stream,
      seq: BigInt(index + 1),
      type: draft.type as StreamEvent['type'],
      notification: (draft.type === 'DELETED' ? tombstone : (record: NotificationRecord) => record)(
        notifications[draft.which % notifications.length]!,
      ),
      receipt: draft.receipt,
      before: draft.before,
      fold: draft.fold,
    })),
  );

/** A DELETED event carries the notification without its content, as the event log keeps it. */
const tombstone = (record: NotificationRecord): NotificationRecord => ({
  ...record,
  title: '',
  body: null,
  data: null,
  icon: null,
  actionUrl: null,
  templateKey: null,
  batchWindowSeconds: null,
  editedAt: null,
});

/** The W3C traceparent a traced publish carries. */
const traceparent = fc
  .tuple(fc.stringMatching(/^[\da-f]{32}$/), fc.stringMatching(/^[\da-f]{16}$/), fc.boolean())
  .map(([trace, span, sampled]) => `00-${trace}-${span}-0${sampled ? 1 : 0}`);

describe('bus messages', () => {
  it('stay within MAX_BUS_MESSAGE_BYTES and carry every event, in order, with its content or its id', () => {
    fc.assert(
      fc.property(publish, fc.option(traceparent, { nil: undefined }), (events, trace) => {
        const messages = encodeEvents('origin', events, trace);
        for (const message of messages) {
          expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_BUS_MESSAGE_BYTES);
        }
        const carried = messages.map((message) => decodeMessage(message));
        for (const message of carried)
          expect('trace' in message && message.trace).toBe(trace ?? false);
        const received = carried.flatMap((message) =>
          'events' in message
            ? message.events.map((event) => ({
                event,
                notification: message.notifications[event.notification]!,
              }))
            : [],
        );
        expect(received).toHaveLength(events.length);
        received.forEach(({ event, notification }, index) => {
          const sent = events[index]!;
          const { notification: _index, ...rest } = event;
          const { notification: record, ...expected } = sent;
          expect(rest).toEqual(expected);
          if ('record' in notification) expect(notification.record).toEqual(record);
          else expect(notification.id).toBe(record.id);
        });
        // Content once per publish; only a tombstone, which has none, may be repeated.
        const wholeCopies = carried.flatMap((message) =>
          'notifications' in message
            ? message.notifications.flatMap((n) =>
                'record' in n && n.record.title !== '' ? [n.record.id] : [],
              )
            : [],
        );
        expect(new Set(wholeCopies).size).toBe(wholeCopies.length);
      }),
      { numRuns: 60 },
    );
  });

  it('leave out a trace that is not a W3C traceparent, sent or received', () => {
    const event: StreamEvent = {
      id: 1n,
      stream: 'public',
      seq: 1n,
      type: 'DELETED',
      notification: tombstone(fc.sample(notification, 1)[0]!),
      receipt: null,
    };
    const long = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01,${'x'.repeat(70_000)}`;
    const [sent] = encodeEvents('origin', [event], long);
    expect(Buffer.byteLength(sent!)).toBeLessThanOrEqual(MAX_BUS_MESSAGE_BYTES);
    expect(decodeMessage(sent!)).not.toHaveProperty('trace');
    const forged = sent!.replace('{"origin":"origin",', '{"origin":"origin","trace":{"a":1},');
    expect(decodeMessage(forged)).not.toHaveProperty('trace');
  });
});
