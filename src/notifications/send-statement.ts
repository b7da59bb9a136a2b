import type { Pool } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { appendEventsSql, type AppendedRow } from './event-log.js';
import type { NotificationPriority, NotificationRecord } from './types.js';

// The one definition of the send SQL (the service and bench/database-limit.ts both run it): a
// group of notifications, each with its idempotency claim, receipts and CREATED events, stored by
// one prepared statement in one commit, whatever the group's size (arrays, not a row per value).

/** One notification to store, validated and dated. */
export interface StoredSend {
  id: string;
  sender: string;
  idempotencyKey: string | null;
  category: string;
  priority: NotificationPriority;
  requireAck: boolean;
  batchWindowSeconds: number | null;
  public: boolean;
  title: string;
  body: string | null;
  /** JSON text, or null. */
  data: string | null;
  icon: string | null;
  actionUrl: string | null;
  templateKey: string | null;
  expiresAt: Date | null;
  deleteAt: Date;
  /** Sorted and distinct; empty for a public notification. */
  recipients: string[];
  /** The event streams it is appended to, in order: `public`, or each recipient's. */
  streams: string[];
}

/** What a repeated idempotency key returns: the first send's result, kept with the key. */
export interface IdempotentResult {
  notificationId: string;
  recipientCount: number;
}

/** How long a repeated idempotency key returns the first result (a PostgreSQL interval). */
export const IDEMPOTENCY_WINDOW = '24 hours';

export interface Stored {
  notification: NotificationRecord;
  events: AppendedRow[];
}

type StoredRow = Omit<NotificationRecord, 'seq'> & { seq: string; events: AppendedRow[] };

/**
 * Stores `sends` and returns, for each, what was stored, or undefined when its idempotency key
 * was claimed before (by an earlier send, committed: the claim waits for it). At most one send
 * per (sender, key) in a call: ON CONFLICT cannot touch one row twice in a statement. Keys,
 * then stream heads, are locked in sorted order, so concurrent calls cannot deadlock.
 */
export async function storeSends(pool: Pool, sends: StoredSend[]): Promise<(Stored | undefined)[]> {
  const statement = storeSendsSql(sends);
  const { rows } = await pool.query<StoredRow>({
    name: 'store-sends',
    text: statement.text,
    values: statement.values,
  });
  const byId = new Map(rows.map(({ events, ...row }) => [row.id, { events, row }]));
  return sends.map((send) => {
    const stored = byId.get(send.id);
    if (!stored) return undefined;
    const notification = { ...stored.row, seq: BigInt(stored.row.seq) };
    return { notification, events: stored.events ?? [] };
  });
}

function storeSendsSql(sends: StoredSend[]): Prisma.Sql {
  const column = <T>(pick: (send: StoredSend) => T) => sends.map(pick);
  const results = column((send) =>
    JSON.stringify({
      notificationId: send.id,
      recipientCount: send.recipients.length,
    } satisfies IdempotentResult),
  );
  const owned = (list: (send: StoredSend) => string[]) => ({
    index: sends.flatMap((send, index) => list(send).map(() => index + 1)),
    values: sends.flatMap(list),
  });
  const recipients = owned((send) => send.recipients);
  const streams = owned((send) => send.streams);
  return Prisma.sql`
    WITH items AS (
      SELECT * FROM unnest(
        ${column((s) => s.id)}::uuid[], ${column((s) => s.sender)}::text[],
        ${column((s) => s.idempotencyKey)}::text[], ${results}::jsonb[],
        ${column((s) => s.category)}::text[], ${column((s) => s.priority)}::"NotificationPriority"[],
        ${column((s) => s.requireAck)}::boolean[], ${column((s) => s.batchWindowSeconds)}::int[],
        ${column((s) => s.public)}::boolean[], ${column((s) => s.title)}::text[],
        ${column((s) => s.body)}::text[], ${column((s) => s.data)}::jsonb[],
        ${column((s) => s.icon)}::text[], ${column((s) => s.actionUrl)}::text[],
        ${column((s) => s.templateKey)}::text[], ${column((s) => s.expiresAt)}::timestamptz[],
        ${column((s) => s.deleteAt)}::timestamptz[]
      ) WITH ORDINALITY AS i(id, sender, key, result, category, priority, "requireAck",
        "batchWindowSeconds", public, title, body, data, icon, "actionUrl", "templateKey",
        "expiresAt", "deleteAt", ord)),
    claim AS (
      INSERT INTO "IdempotencyKey" (service, key, result)
      SELECT sender, key, result FROM items WHERE key IS NOT NULL ORDER BY sender, key
      ON CONFLICT (service, key) DO UPDATE SET result = EXCLUDED.result, "createdAt" = now()
        WHERE "IdempotencyKey"."createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval
      RETURNING service, key),
    go AS (
      SELECT * FROM items i
      WHERE i.key IS NULL OR EXISTS (SELECT FROM claim c WHERE c.service = i.sender AND c.key = i.key)),
    notification AS (
      INSERT INTO "Notification" (id, "categoryName", priority, "requireAck",
        "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "expiresAt", "deleteAt")
      SELECT id, category, priority, "requireAck", "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "expiresAt", "deleteAt"
      FROM go ORDER BY ord
      RETURNING *),
    receipts AS (
      INSERT INTO "Receipt" ("notificationId", "userId", "requireAck")
      SELECT go.id, r.recipient, go."requireAck"
      FROM unnest(${recipients.index}::int[], ${recipients.values}::text[]) AS r(item, recipient)
      JOIN go ON go.ord = r.item),
    ${appendEventsSql(Prisma.sql`
      SELECT s.stream, 'CREATED'::"NotificationEventType" AS type, go.id AS "notificationId",
        NULL::jsonb AS tombstone, NULL::jsonb AS state, s.ord
      FROM unnest(${streams.index}::int[], ${streams.values}::text[]) WITH ORDINALITY AS s(item, stream, ord)
      JOIN go ON go.ord = s.item`)},
    grouped AS (
      SELECT "notificationId", json_agg(events ORDER BY id::bigint) AS events
      FROM events GROUP BY "notificationId")
    SELECT n.*, g.events FROM notification n LEFT JOIN grouped g ON g."notificationId" = n.id::text`;
}
