import type pg from 'pg';
import { inTransaction, type Pool } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { appendEventsSql, toStreamEvents, type AppendedRow } from './event-log.js';
import { addressTopicSends } from './topics.js';
import { LIMITS } from './validation.js';
import { userStream, type NotificationPriority, type NotificationRecord } from './types.js';

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
  /** Private only: folds each recipient's newest earlier one of this category and key. */
  groupKey: string | null;
  expiresAt: Date | null;
  deleteAt: Date;
  /** Sorted and distinct; empty for a public notification (and a topic's, until stored). */
  recipients: string[];
  /** The event streams it is appended to, in order: `public`, or each recipient's. */
  streams: string[];
  /** A topic send: its members become its recipients as it is stored (see topics.ts). */
  topic?: string | null;
}

/** What a repeated idempotency key returns: the first send's result, kept with the key. */
export interface IdempotentResult {
  notificationId: string;
  recipientCount: number;
}

/** How long a repeated idempotency key returns the first result (a PostgreSQL interval). */
export const IDEMPOTENCY_WINDOW = '24 hours';

/** What a send's idempotency key keeps, as JSON text. */
export const idempotentResult = (send: StoredSend) =>
  JSON.stringify({
    notificationId: send.id,
    recipientCount: send.recipients.length,
  } satisfies IdempotentResult);

/** The CREATED events of what was stored, in the log's order, as subscribers get them. */
export const createdStreamEvents = (stored: Stored[]) =>
  toStreamEvents(
    stored.flatMap(({ notification, events }) =>
      events.map((event) => ({ stream: event.stream, type: 'CREATED' as const, notification })),
    ),
    stored.flatMap(({ events }) => events),
  );

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
 *
 * A call with grouped sends first takes, in the same transaction, the grouped recipients'
 * inboxes (as their own changes take them, so a fold reads a state no markSeen or archive is
 * changing) and then every stream head the statement appends to, both in sorted order: the
 * statement then starts from a snapshot in which every earlier send to those streams is
 * committed, so the earlier one it folds is the newest there is. (Only a concurrent call with
 * the same idempotency key locks in the other order, keys first; PostgreSQL breaks that
 * deadlock and the group commit stores each send of the failed group again.)
 */
export async function storeSends(pool: Pool, sends: StoredSend[]): Promise<(Stored | undefined)[]> {
  if (!sends.some((send) => isGrouped(send) || isTopic(send))) {
    return storedOf(sends, await pool.query<StoredRow>(sendQuery(sends)));
  }
  return inTransaction(pool, (client) => storeSendsIn(client, sends));
}

/**
 * storeSends on `client`, in a transaction its caller opened and commits (the scheduled sends'
 * dispatcher stores what it claimed in the transaction that holds the claim). A grouped send
 * first takes the locks a fold needs (see storeSends).
 */
export async function storeSendsIn(
  client: pg.ClientBase,
  sends: StoredSend[],
): Promise<(Stored | undefined)[]> {
  const addressed = sends.some(isTopic) ? await addressTopicSends(client, sends) : sends;
  if (addressed.some(isGrouped)) await lockForGroups(client, addressed);
  return storedOf(addressed, await client.query<StoredRow>(sendQuery(addressed)));
}

/**
 * What a send weighs in one statement, whose rows are bounded: its streams, or for a topic send
 * (members known only inside it) a whole statement's worth, so it is stored alone.
 */
export const statementWeight = (send: StoredSend) =>
  send.topic == null ? send.streams.length : LIMITS.recipients;

const isGrouped = (send: StoredSend) => send.groupKey !== null;
const isTopic = (send: StoredSend) => send.topic != null;

function sendQuery(sends: StoredSend[]) {
  const statement = storeSendsSql(sends);
  return { name: 'store-sends', text: statement.text, values: statement.values };
}

function storedOf(sends: StoredSend[], { rows }: { rows: StoredRow[] }) {
  const byId = new Map(rows.map(({ events, ...row }) => [row.id, { events, row }]));
  return sends.map((send) => {
    const stored = byId.get(send.id);
    if (!stored) return undefined;
    const notification = { ...stored.row, seq: BigInt(stored.row.seq) };
    return { notification, events: stored.events ?? [] };
  });
}

/** The grouped recipients' inboxes, then every stream head the statement appends to. */
async function lockForGroups(client: pg.ClientBase, sends: StoredSend[]) {
  const grouped = [...new Set(sends.flatMap((send) => (send.groupKey ? send.recipients : [])))];
  const streams = [...new Set(sends.flatMap((send) => send.streams))];
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('inbox:' || u, 0))
     FROM (SELECT u FROM unnest($1::text[]) u ORDER BY u) s`,
    [grouped],
  );
  await client.query(
    `INSERT INTO "Stream" (id, seq) SELECT s, 0 FROM unnest($1::text[]) s ORDER BY s
     ON CONFLICT (id) DO UPDATE SET seq = "Stream".seq`,
    [streams],
  );
}

export function storeSendsSql(sends: StoredSend[]): Prisma.Sql {
  const column = <T>(pick: (send: StoredSend) => T) => sends.map(pick);
  const results = column(idempotentResult);
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
        ${column((s) => s.deleteAt)}::timestamptz[], ${column((s) => s.groupKey)}::text[]
      ) WITH ORDINALITY AS i(id, sender, key, result, category, priority, "requireAck",
        "batchWindowSeconds", public, title, body, data, icon, "actionUrl", "templateKey",
        "expiresAt", "deleteAt", "groupKey", ord)),
    ${claimSql},
    notification AS (
      INSERT INTO "Notification" (id, "categoryName", priority, "requireAck",
        "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "groupKey", "expiresAt", "deleteAt")
      SELECT id, category, priority, "requireAck", "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "groupKey", "expiresAt", "deleteAt"
      FROM go ORDER BY ord
      RETURNING *),
    addressed AS (
      SELECT go.ord, go.id, r.recipient, go.category, go."groupKey", go."requireAck",
        go."expiresAt"
      FROM unnest(${recipients.index}::int[], ${recipients.values}::text[]) AS r(item, recipient)
      JOIN go ON go.ord = r.item),
    ${foldSql()},
    receipts AS (
      INSERT INTO "Receipt" ("notificationId", "userId", seq, "requireAck", "groupKey",
        "groupCount")
      SELECT a.id, a.recipient, n.seq, a."requireAck", a."groupKey", COALESCE(f."groupCount", 1)
      FROM addressed a JOIN notification n ON n.id = a.id
      LEFT JOIN fold f ON f.ord = a.ord AND f.recipient = a.recipient
      WHERE f.newest IS NOT FALSE),
    ${appendEventsSql(Prisma.sql`
      SELECT s.stream, 'CREATED'::"NotificationEventType" AS type, go.id AS "notificationId",
        NULL::jsonb AS tombstone,
        CASE WHEN f.ord IS NOT NULL THEN jsonb_build_object('fold', jsonb_build_object(
          'groupCount', f."groupCount", 'replaces', f.replaces,
          'replacedCounted', f."replacedCounted", 'replacedExpiresAt', f."replacedExpiresAt"))
        END AS state, s.ord
      FROM unnest(${streams.index}::int[], ${streams.values}::text[]) WITH ORDINALITY AS s(item, stream, ord)
      JOIN go ON go.ord = s.item
      LEFT JOIN fold f ON f.ord = s.item AND s.stream = ${userStream('')} || f.recipient`)},
    grouped AS (
      SELECT "notificationId", json_agg(events ORDER BY id::bigint) AS events
      FROM events GROUP BY "notificationId")
    SELECT n.*, g.events FROM notification n LEFT JOIN grouped g ON g."notificationId" = n.id::text`;
}

/**
 * CTEs that claim the idempotency keys of `items` (sender, key, result): `go` is the items that
 * have no key or claimed theirs (a key used within IDEMPOTENCY_WINDOW stays with its first send).
 * Shared with the statement that schedules sends (scheduled.ts), which claims keys when asked.
 */
export const claimSql = Prisma.sql`
    claim AS (
      INSERT INTO "IdempotencyKey" (service, key, result)
      SELECT sender, key, result FROM items WHERE key IS NOT NULL ORDER BY sender, key
      ON CONFLICT (service, key) DO UPDATE SET result = EXCLUDED.result, "createdAt" = now()
        WHERE "IdempotencyKey"."createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval
      RETURNING service, key),
    go AS (
      SELECT * FROM items i
      WHERE i.key IS NULL OR EXISTS (SELECT FROM claim c WHERE c.service = i.sender AND c.key = i.key))`;

/**
 * CTEs of the fold, per recipient of a grouped send: `chain` orders the statement's own sends of
 * one (recipient, category, groupKey); `earlier` is the recipient's newest one before them not
 * archived (found through "Receipt_group_idx"), whose receipt `folded` removes; `fold` says, for
 * each, how many it stands for, which it replaces (the earlier, or the previous in the chain)
 * and whether that one needed attention; only the newest of a chain (`newest`) gets a receipt.
 */
const foldSql = () => Prisma.sql`
    chain AS (
      SELECT a.*, row_number() OVER w AS rank, lag(a.id) OVER w AS "previousId",
        lag(a."expiresAt") OVER w AS "previousExpiresAt", lead(a.id) OVER w IS NULL AS newest
      FROM addressed a WHERE a."groupKey" IS NOT NULL
      WINDOW w AS (PARTITION BY a.recipient, a.category, a."groupKey" ORDER BY a.ord)),
    earlier AS (
      SELECT c.recipient, c.category, c."groupKey", e.*
      FROM chain c CROSS JOIN LATERAL (
        SELECT r."notificationId", r."groupCount", n."expiresAt",
          (r."snoozedUntil" IS NULL
            AND (r."seenAt" IS NULL OR (r."requireAck" AND r."acknowledgedAt" IS NULL))) AS counted
        FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
        WHERE r."userId" = c.recipient AND r."groupKey" = c."groupKey"
          AND r."archivedAt" IS NULL AND n."categoryName" = c.category
        ORDER BY n.seq DESC LIMIT 1) e
      WHERE c.rank = 1),
    folded AS (
      DELETE FROM "Receipt" r USING earlier e
      WHERE r."userId" = e.recipient AND r."notificationId" = e."notificationId"),
    fold AS (
      SELECT c.ord, c.recipient, c.newest, COALESCE(e."groupCount", 0) + c.rank AS "groupCount",
        CASE WHEN c.rank = 1 THEN e."notificationId" ELSE c."previousId" END AS replaces,
        CASE WHEN c.rank = 1 THEN COALESCE(e.counted, false) ELSE true END AS "replacedCounted",
        CASE WHEN c.rank = 1 THEN e."expiresAt" ELSE c."previousExpiresAt" END
          AS "replacedExpiresAt"
      FROM chain c LEFT JOIN earlier e ON e.recipient = c.recipient
        AND e.category = c.category AND e."groupKey" = c."groupKey")`;
