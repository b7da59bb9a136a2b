import { Prisma } from '../generated/prisma/client.js';
import type { LoggedEvent } from './event-log.js';
import {
  PUBLIC_STREAM,
  isExpired,
  type Fold,
  noReceipt,
  type NotificationEventType,
  type NotificationPriority,
  type NotificationRecord,
  type NotificationView,
  type ReceiptTimes,
  type StreamEvent,
} from './types.js';

// What a user sees and counts, in one place: the SQL that lists and counts, and the arithmetic
// a live counter applies to events, side by side so that they cannot drift apart.
//
// A user sees the private notifications addressed to them (they have a receipt) and every
// public one. One needs attention while it is not archived, not snoozed, and unseen, or seen
// but unacknowledged when it asks for an acknowledgement. A user's receipt holds their own
// state of a notification; public ones get a receipt only when the user acts on one, and until
// then the user's positions speak for them: public ones up to their seen position (InboxState,
// moved by markAllSeen) count as seen at that time, and those up to their archive position of
// the notification's category and priority (ArchivePosition, moved by archiveAll) as archived,
// require-ack ones aside. Expired notifications and muted categories are neither counted nor
// listed as unseen, nor delivered live as new.

/** What a user narrows a list, a count or a subscription to. */
export interface InboxFilter {
  categories?: readonly string[] | null;
  priorities?: readonly NotificationPriority[] | null;
  status?: NotificationStatus | null;
}
export type NotificationStatus = 'UNSEEN' | 'SEEN' | 'ARCHIVED' | 'SNOOZED' | 'ALL';

const notExpired = Prisma.sql`(n."expiresAt" IS NULL OR n."expiresAt" > now())`;

/** Not in a category the user muted (a hashed set, not a lookup per row). */
const notMuted = (userId: string) => Prisma.sql`n."categoryName" NOT IN (
  SELECT p."categoryName" FROM "Preference" p WHERE p."userId" = ${userId} AND p.muted)`;

/** Every public notification up to this seq counts as seen by the user. */
const publicPosition = (userId: string) =>
  Prisma.sql`COALESCE((SELECT "publicSeenSeq" FROM "InboxState" WHERE "userId" = ${userId}), 0)`;
const publicSeenAt = (userId: string) =>
  Prisma.sql`(SELECT "publicSeenAt" FROM "InboxState" WHERE "userId" = ${userId})`;

/** The predicate of "Receipt_attention_idx", word for word, so that the planner uses it. */
const receiptNeedsAttention = Prisma.sql`(r."archivedAt" IS NULL AND r."snoozedUntil" IS NULL
  AND (r."seenAt" IS NULL OR (r."requireAck" AND r."acknowledgedAt" IS NULL)))`;

/**
 * The user's receipt of the public notification `n`, as `r`: one of their receipts of public
 * ones (r.public), so that whatever plan reads it reads those, never their whole history.
 */
const userReceipt = (userId: string) =>
  Prisma.sql`LEFT JOIN "Receipt" r ON r."notificationId" = n.id AND r."userId" = ${userId}
    AND r.public`;
/** The user's archive position of the notification's category and priority, as `ap`. */
const archivePosition = (userId: string) =>
  Prisma.sql`LEFT JOIN "ArchivePosition" ap ON ap."userId" = ${userId}
    AND ap."categoryName" = n."categoryName" AND ap.priority = n.priority`;

/** How a part of a query reads the user's seenAt and archivedAt of `n`. */
interface StateSql {
  seenAt: Prisma.Sql;
  archivedAt: Prisma.Sql;
}

/** From the user's receipt `r`: private notifications, and public ones the user acted on. */
const receiptState: StateSql = {
  seenAt: Prisma.sql`r."seenAt"`,
  archivedAt: Prisma.sql`r."archivedAt"`,
};

/** A public notification's, joined with `r` and `ap`: its receipt's, else the positions'. */
const publicState = (userId: string): StateSql => ({
  seenAt: Prisma.sql`CASE WHEN r."userId" IS NOT NULL THEN r."seenAt"
    WHEN n.seq <= ${publicPosition(userId)} THEN ${publicSeenAt(userId)} END`,
  archivedAt: Prisma.sql`CASE WHEN r."userId" IS NOT NULL THEN r."archivedAt"
    WHEN NOT n."requireAck" AND n.seq <= ap.seq THEN ap."archivedAt" END`,
});

/**
 * What a list selects of each row: the notification with the user's own state and how many of
 * its group it stands for (a grouped send folds the user's earlier one into it: the earlier
 * one's receipt goes, so it is neither listed nor counted for them).
 */
const asView = (state: StateSql) => Prisma.sql`n.*, ${state.seenAt} AS "seenAt",
  r."acknowledgedAt", ${state.archivedAt} AS "archivedAt", r."snoozedUntil", r."updatedAt",
  COALESCE(r."groupCount", 1)::int AS "groupCount"`;

const STATUS: Record<NotificationStatus, (state: StateSql) => Prisma.Sql> = {
  UNSEEN: (state) =>
    Prisma.sql`${state.archivedAt} IS NULL AND r."snoozedUntil" IS NULL AND ${state.seenAt} IS NULL`,
  SEEN: (state) =>
    Prisma.sql`${state.archivedAt} IS NULL AND r."snoozedUntil" IS NULL AND ${state.seenAt} IS NOT NULL`,
  SNOOZED: (state) => Prisma.sql`${state.archivedAt} IS NULL AND r."snoozedUntil" IS NOT NULL`,
  ARCHIVED: (state) => Prisma.sql`${state.archivedAt} IS NOT NULL`,
  ALL: () => Prisma.sql`TRUE`,
};

/** The filter's categories and priorities, on `n`. */
function kindSql(filter: InboxFilter) {
  const conditions = [Prisma.sql`TRUE`];
  if (filter.categories) {
    conditions.push(Prisma.sql`n."categoryName" = ANY(${[...filter.categories]}::text[])`);
  }
  if (filter.priorities) {
    conditions.push(
      Prisma.sql`n.priority = ANY(${[...filter.priorities]}::text[]::"NotificationPriority"[])`,
    );
  }
  return Prisma.join(conditions, ' AND ');
}

/** The whole filter, on `n` and the user's state of it. */
const filterSql = (filter: InboxFilter, state: StateSql) =>
  Prisma.sql`${kindSql(filter)} AND ${STATUS[filter.status ?? 'ALL'](state)}`;

/** Public notifications the user has a receipt of (their own state): one hashed set. */
const publicReceipted = (userId: string) => Prisma.sql`n.id IN (
  SELECT a."notificationId" FROM "Receipt" a WHERE a."userId" = ${userId} AND a.public)`;

/**
 * One part of a list, and the seq its rows come newest first by: the receipt's where the part
 * walks the user's receipts (an index of theirs, by seq: a page reads a page, however long the
 * user's history), the notification's where it walks notifications.
 */
interface ListPart {
  sql: Prisma.Sql;
  seq: Prisma.Sql;
}

/** The notification `n` of the receipt `r`, shown (`where`): one primary-key probe per receipt. */
const notificationOfReceipt = (where: Prisma.Sql) => Prisma.sql`CROSS JOIN LATERAL (
  SELECT * FROM "Notification" n WHERE n.id = r."notificationId" AND ${where} OFFSET 0) n`;

/**
 * What needs the user's attention, in three parts that each walk an index: their receipts that
 * need attention (a partial index: not their history), the public notifications above their
 * seen position they have no receipt of and did not archive, and the require-ack public ones at
 * or below it they have no receipt of. `columns` picks what each part selects, given its state.
 */
function unseenParts(
  userId: string,
  columns: (state: StateSql) => Prisma.Sql,
  filter: InboxFilter = {},
): ListPart[] {
  const shown = Prisma.sql`${notExpired} AND ${notMuted(userId)}`;
  const ofPublic = publicState(userId);
  return [
    {
      // LATERAL with OFFSET 0: whatever the planner guesses of a user with a long history.
      sql: Prisma.sql`SELECT ${columns(receiptState)} FROM "Receipt" r ${notificationOfReceipt(shown)}
        WHERE r."userId" = ${userId} AND ${receiptNeedsAttention}
          AND ${filterSql(filter, receiptState)}`,
      seq: Prisma.sql`r.seq`,
    },
    {
      sql: Prisma.sql`SELECT ${columns(ofPublic)}
        FROM "Notification" n ${userReceipt(userId)} ${archivePosition(userId)}
        WHERE n.public AND n.seq > ${publicPosition(userId)} AND ${notExpired}
          AND NOT ${publicReceipted(userId)} AND (n."requireAck" OR n.seq > COALESCE(ap.seq, 0))
          AND ${notMuted(userId)} AND ${filterSql(filter, ofPublic)}`,
      seq: Prisma.sql`n.seq`,
    },
    {
      sql: Prisma.sql`SELECT ${columns(ofPublic)}
        FROM "Notification" n ${userReceipt(userId)} ${archivePosition(userId)}
        WHERE n.public AND n."requireAck" AND n.seq <= ${publicPosition(userId)}
          AND NOT ${publicReceipted(userId)} AND ${shown} AND ${filterSql(filter, ofPublic)}`,
      seq: Prisma.sql`n.seq`,
    },
  ];
}

/** The newest `limit` rows of the parts together, each part taking only its newest `limit`. */
const newestOf = (parts: ListPart[], limit: number) =>
  Prisma.sql`${Prisma.join(
    parts.map(({ sql, seq }) => Prisma.sql`(${sql} ORDER BY ${seq} DESC LIMIT ${limit})`),
    ' UNION ALL ',
  )} ORDER BY seq DESC LIMIT ${limit}`;

/**
 * The same rule for one notification as the user sees it (their own state, which for a public one
 * below their positions is the positions'): whether unseenNotifications lists it and unseenCount
 * counts it. Support shows it beside each notification of a user's history.
 */
export function listedAsUnseen(view: NotificationView, muted: ReadonlySet<string>, now: Date) {
  if (isExpired(view, now) || muted.has(view.categoryName)) return false;
  return needsAttention(view, view);
}

/** The newest `limit` notifications needing attention (and matching `filter`), as the user sees them. */
export const unseenListSql = (userId: string, limit: number, filter: InboxFilter = {}) =>
  newestOf(unseenParts(userId, asView, filter), limit);

/**
 * How many notifications need attention per category (every category, or the filter's), with
 * the filter's priorities and status: the counts of an inbox's tabs.
 */
export function unseenByCategorySql(userId: string, filter: InboxFilter) {
  const parts = unseenParts(userId, () => Prisma.sql`n."categoryName"`, filter).map(
    ({ sql }) => sql,
  );
  const named = filter.categories
    ? Prisma.sql`WHERE c.name = ANY(${[...filter.categories]}::text[])`
    : Prisma.empty;
  return Prisma.sql`
    SELECT c.name AS category, COALESCE(u.unseen, 0)::int AS unseen FROM "Category" c
    LEFT JOIN (SELECT "categoryName", count(*) AS unseen
      FROM (${Prisma.join(parts, ' UNION ALL ')}) p GROUP BY "categoryName") u
      ON u."categoryName" = c.name
    ${named} ORDER BY c.name`;
}

/** The public notifications matching `condition` and `filter`, as the user sees them. */
const publicVisible = (userId: string, condition: Prisma.Sql, filter: InboxFilter) => {
  const ofPublic = publicState(userId);
  return Prisma.sql`SELECT ${asView(ofPublic)}
    FROM "Notification" n ${userReceipt(userId)} ${archivePosition(userId)}
    WHERE n.public AND ${condition} AND ${filterSql(filter, ofPublic)}`;
};

/** What the user can see matching `condition` (on `n`: by id), as they see them. */
export const visibleSql = (userId: string, condition: Prisma.Sql) => Prisma.sql`
  SELECT ${asView(receiptState)} FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
    WHERE r."userId" = ${userId} AND NOT n.public AND ${condition}
  UNION ALL ${publicVisible(userId, condition, {})}`;

/**
 * The newest `limit` of what the user sees matching `filter`, older than `beforeSeq` if given:
 * their receipts of private ones walked newest first ("Receipt_userId_seq_idx"), and the public
 * ones by their (public, seq) index backwards, each stopping at `limit`.
 */
export function newestVisibleSql(
  userId: string,
  beforeSeq: bigint | null,
  limit: number,
  filter: InboxFilter = {},
) {
  const before = (seq: Prisma.Sql) =>
    beforeSeq === null ? Prisma.sql`TRUE` : Prisma.sql`${seq} < ${beforeSeq}`;
  return newestOf(
    [
      {
        sql: Prisma.sql`SELECT ${asView(receiptState)} FROM "Receipt" r
          ${notificationOfReceipt(Prisma.sql`TRUE`)}
          WHERE r."userId" = ${userId} AND NOT r.public AND ${before(Prisma.sql`r.seq`)}
            AND ${filterSql(filter, receiptState)}`,
        seq: Prisma.sql`r.seq`,
      },
      { sql: publicVisible(userId, before(Prisma.sql`n.seq`), filter), seq: Prisma.sql`n.seq` },
    ],
    limit,
  );
}

/**
 * Waits for public sends in flight and holds off new ones until commit, so that the position
 * markAllSeen or archiveAll takes (in its next statement, which sees them) never passes an
 * unseen one.
 */
export const holdPublicSendsSql = () =>
  Prisma.sql`SELECT 1 FROM "Stream" WHERE id = ${PUBLIC_STREAM} FOR SHARE`;

/**
 * markAllSeen in one statement: moves the user's public position to the newest public
 * notification and marks their unseen receipts seen; one row written per receipt, one for all
 * public ones without a receipt. Answers how many became seen and the newest of them.
 * Run it after holdPublicSendsSql, in the same transaction.
 */
export function markAllSeenSql(userId: string) {
  // The public ones it marks: live above the position (from the tallies), less those with a
  // receipt; the newest found by walking down from the top past those.
  const from = Prisma.sql`b."from"`;
  return Prisma.sql`
    WITH bounds AS (
      SELECT ${publicPosition(userId)} AS "from",
        (SELECT COALESCE(max(seq), 0) FROM "Notification" WHERE public) AS "to"),
    public_marked AS (
      SELECT ${livePublicAbove(from, () => Prisma.sql`TRUE`, 'all')}
          - (SELECT count(*) FROM "Receipt" a JOIN "Notification" n ON n.id = a."notificationId"
            WHERE a."userId" = ${userId} AND a.public AND n.seq > ${from} AND ${notExpired})
          AS count,
        (SELECT n.seq FROM "Notification" n ${userReceipt(userId)}
          WHERE n.public AND n.seq > ${from} AND r."userId" IS NULL AND ${notExpired}
          ORDER BY n.seq DESC LIMIT 1) AS newest
      FROM bounds b),
    moved AS (
      INSERT INTO "InboxState" ("userId", "publicSeenSeq", "publicSeenAt")
      SELECT ${userId}, b."to", now() FROM bounds b WHERE b."to" > b."from"
      ON CONFLICT ("userId") DO UPDATE
        SET "publicSeenSeq" = EXCLUDED."publicSeenSeq", "publicSeenAt" = EXCLUDED."publicSeenAt"
      RETURNING 1),
    receipts_marked AS (
      UPDATE "Receipt" r SET "seenAt" = now(), "updatedAt" = now(), "requireAck" = n."requireAck"
      FROM "Notification" n
      WHERE r."userId" = ${userId} AND r."seenAt" IS NULL AND n.id = r."notificationId"
        AND ${notExpired}
      RETURNING n.seq)
    SELECT (SELECT count FROM public_marked) + (SELECT count(*) FROM receipts_marked) AS changed,
      GREATEST((SELECT newest FROM public_marked), (SELECT max(seq) FROM receipts_marked))
        AS "newestSeq"`;
}

/**
 * archiveAll in one statement, for a filter whose status is ALL, SEEN or SNOOZED: moves the
 * user's archive positions of the filter's categories and priorities to the newest public
 * notification (or, for SEEN, to their seen position), which archives every public one up to
 * there they have no receipt of, require-ack ones aside, without a row each; and archives their
 * receipts that match, except require-ack ones not yet acknowledged. Answers how many became
 * archived and the newest of them. Run it after holdPublicSendsSql, in the same transaction.
 */
export function archiveAllSql(userId: string, filter: InboxFilter) {
  const status = filter.status ?? 'ALL';
  const target =
    status === 'ALL'
      ? Prisma.sql`(SELECT COALESCE(max(seq), 0) FROM "Notification" WHERE public)`
      : status === 'SEEN'
        ? publicPosition(userId)
        : Prisma.sql`0`;
  const categories = filter.categories
    ? Prisma.sql`WHERE c.name = ANY(${[...filter.categories]}::text[])`
    : Prisma.empty;
  const priorities = filter.priorities
    ? Prisma.sql`WHERE p = ANY(${[...filter.priorities]}::text[]::"NotificationPriority"[])`
    : Prisma.empty;
  return Prisma.sql`
    WITH target AS (SELECT ${target} AS seq),
    keys AS (
      SELECT c.name AS "categoryName", p.priority, COALESCE(ap.seq, 0) AS "from"
      FROM (SELECT name FROM "Category" c ${categories}) c
      CROSS JOIN (SELECT p AS priority FROM unnest(enum_range(NULL::"NotificationPriority")) p
        ${priorities}) p
      LEFT JOIN "ArchivePosition" ap ON ap."userId" = ${userId}
        AND ap."categoryName" = c.name AND ap.priority = p.priority),
    public_archived AS (
      SELECT n.seq FROM target t, "Notification" n
      JOIN keys k ON k."categoryName" = n."categoryName" AND k.priority = n.priority
      WHERE n.public AND n.seq <= t.seq AND n.seq > (SELECT COALESCE(min("from"), 0) FROM keys)
        AND n.seq > k."from" AND NOT n."requireAck" AND NOT ${publicReceipted(userId)}),
    moved AS (
      INSERT INTO "ArchivePosition" ("userId", "categoryName", priority, seq, "archivedAt")
      SELECT ${userId}, k."categoryName", k.priority, t.seq, now() FROM keys k, target t
      WHERE t.seq > k."from"
      ON CONFLICT ("userId", "categoryName", priority) DO UPDATE
        SET seq = EXCLUDED.seq, "archivedAt" = EXCLUDED."archivedAt"
      RETURNING 1),
    receipts_archived AS (
      UPDATE "Receipt" r
      SET "archivedAt" = now(), "snoozedUntil" = NULL, "updatedAt" = now()
      FROM "Notification" n
      WHERE r."userId" = ${userId} AND r."archivedAt" IS NULL AND n.id = r."notificationId"
        AND NOT (r."requireAck" AND r."acknowledgedAt" IS NULL)
        AND ${filterSql(filter, receiptState)}
      RETURNING n.seq)
    SELECT (SELECT count(*) FROM public_archived) + (SELECT count(*) FROM receipts_archived)
        AS changed,
      GREATEST((SELECT max(seq) FROM public_archived), (SELECT max(seq) FROM receipts_archived))
        AS "newestSeq"`;
}

/** The newest notification a markAllSeen or archiveAll covered, held against deletion, as the user sees it. */
export function newestCoveredSql(userId: string, newestSeq: bigint) {
  return Prisma.sql`
    WITH held AS (
      SELECT id FROM "Notification" WHERE seq <= ${newestSeq}
        AND (public OR EXISTS (SELECT FROM "Receipt" r
          WHERE r."userId" = ${userId} AND r."notificationId" = "Notification".id))
      ORDER BY seq DESC LIMIT 1 FOR KEY SHARE)
    ${visibleSql(userId, Prisma.sql`n.id = (SELECT id FROM held)`)}`;
}

/** One row: everything a live counter starts from (see CountState), in one snapshot. */
export interface CountRow {
  count: bigint;
  /** The counted private notifications that will expire. */
  privateExpiring: { id: string; expiresAt: string }[] | null;
  muted: string[] | null;
  position: bigint;
  archivePositions: { categoryName: string; priority: NotificationPriority; seq: string }[] | null;
  /** Public notifications the positions misjudge (see CountState.publicExceptions). */
  exceptions: string[] | null;
  countedAt: Date;
}

/** seq >> TALLY_BITS is the bucket of a public notification's tally (PublicTally). */
const TALLY_BITS = 10;

/** Which live public notifications livePublicCount counts: all, or those asking for an ack or not. */
type AckKind = 'all' | 'ack' | 'plain';
const TALLY_COLUMN: Record<AckKind, Prisma.Sql> = {
  all: Prisma.sql`t.live`,
  ack: Prisma.sql`t."requireAck"`,
  plain: Prisma.sql`(t.live - t."requireAck")`,
};
const ackCondition = (kind: AckKind, of: Prisma.Sql) =>
  kind === 'all'
    ? Prisma.empty
    : Prisma.sql`AND ${kind === 'ack' ? Prisma.empty : Prisma.sql`NOT`} ${of}."requireAck"`;

/**
 * How many live public notifications of `kind` there are above `position`, of those `shown` lets
 * through (a condition on a row alias with "categoryName", priority and "requireAck"). Read from
 * the tallies of the buckets wholly above it, plus the rows of the position's own bucket (at most
 * 1 << TALLY_BITS, through a public seq index), less those expired but not yet settled (as many
 * as the job is behind): a bounded read however many public notifications there are.
 */
function livePublicAbove(
  position: Prisma.Sql,
  shown: (of: Prisma.Sql) => Prisma.Sql,
  kind: AckKind,
) {
  const bucket = Prisma.sql`(${position} >> ${TALLY_BITS})`;
  const edge = Prisma.sql`((${bucket} + 1) << ${TALLY_BITS})`;
  return Prisma.sql`(
    (SELECT COALESCE(sum(${TALLY_COLUMN[kind]}), 0)
      FROM "PublicTally" t WHERE t.bucket > ${bucket} AND ${shown(Prisma.sql`t`)})
    + (SELECT count(*) FROM "Notification" n
      WHERE n.public ${ackCondition(kind, Prisma.sql`n`)} AND n.seq > ${position} AND n.seq < ${edge}
        AND ${notExpired} AND ${shown(Prisma.sql`n`)})
    - (SELECT count(*) FROM "PublicExpiry" q
      WHERE (q."expiresAt", q.seq) > (
          (SELECT "through" FROM "PublicExpirySettled"),
          (SELECT "throughSeq" FROM "PublicExpirySettled"))
        AND q."expiresAt" <= now() ${ackCondition(kind, Prisma.sql`q`)} AND q.seq >= ${edge}
        AND ${shown(Prisma.sql`q`)}))`;
}

/**
 * The (category, priority) pairs the user counts (not muted, kept by the filter), each with its
 * effective position: the greater of the seen position and its archive position. Public ones
 * up to it count as dealt with, require-ack ones aside.
 */
function countedKinds(userId: string, filter: InboxFilter) {
  const categories = filter.categories
    ? Prisma.sql`AND c.name = ANY(${[...filter.categories]}::text[])`
    : Prisma.empty;
  const priorities = filter.priorities
    ? Prisma.sql`WHERE p = ANY(${[...filter.priorities]}::text[]::"NotificationPriority"[])`
    : Prisma.empty;
  return Prisma.sql`
    SELECT c.name AS "categoryName", p.priority,
      GREATEST(${publicPosition(userId)}, COALESCE(ap.seq, 0)) AS "from"
    FROM "Category" c
    CROSS JOIN (SELECT p AS priority FROM unnest(enum_range(NULL::"NotificationPriority")) p
      ${priorities}) p
    LEFT JOIN "ArchivePosition" ap ON ap."userId" = ${userId}
      AND ap."categoryName" = c.name AND ap.priority = p.priority
    WHERE c.name NOT IN (
      SELECT m."categoryName" FROM "Preference" m WHERE m."userId" = ${userId} AND m.muted)
      ${categories}`;
}

/** Whether the positions alone would count a public notification (`n`, joined with `ap`). */
const positionsCountSql = (userId: string) =>
  Prisma.sql`(n."requireAck" OR n.seq > GREATEST(${publicPosition(userId)}, COALESCE(ap.seq, 0)))`;

/**
 * The count of what needs attention and matches `filter`, and what a live counter needs, without
 * walking public notifications: the user's receipts that need attention, plus per counted
 * (category, priority) the live public ones above its effective position that ask for no
 * acknowledgement and every live one that does (from the tallies), less the public ones the
 * positions count that the user has a receipt of (their receipt speaks for them).
 */
export function countSql(userId: string, filter: InboxFilter = {}) {
  const receipted = unseenParts(userId, () => Prisma.sql`n.id, n."expiresAt", n.public`, filter)[0]!
    .sql;
  const ofKind = (of: Prisma.Sql) =>
    Prisma.sql`${of}."categoryName" = k."categoryName" AND ${of}.priority = k.priority`;
  const zero = Prisma.sql`0::bigint`;
  return Prisma.sql`
    WITH kinds AS MATERIALIZED (${countedKinds(userId, filter)})
    SELECT
      (SELECT count(*) FROM (${receipted}) p)
        + (SELECT COALESCE(sum(${livePublicAbove(Prisma.sql`k."from"`, ofKind, 'plain')}
            + ${livePublicAbove(zero, ofKind, 'ack')}), 0) FROM kinds k)
        - (SELECT count(*) FROM "Receipt" a JOIN "Notification" n ON n.id = a."notificationId"
            JOIN kinds k ON ${ofKind(Prisma.sql`n`)}
            WHERE a."userId" = ${userId} AND a.public AND ${notExpired}
              AND (n."requireAck" OR n.seq > k."from")) AS count,
      (SELECT json_agg(json_build_object('id', id, 'expiresAt', "expiresAt"))
        FROM (${receipted}) p WHERE "expiresAt" IS NOT NULL AND NOT public) AS "privateExpiring",
      (SELECT array_agg("categoryName") FROM "Preference" WHERE "userId" = ${userId} AND muted)
        AS muted,
      ${publicPosition(userId)} AS position,
      (SELECT json_agg(json_build_object('categoryName', "categoryName", 'priority', priority,
          'seq', seq::text))
        FROM "ArchivePosition" WHERE "userId" = ${userId}) AS "archivePositions",
      array(
        SELECT n.id FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
          ${archivePosition(userId)}
        WHERE r."userId" = ${userId} AND r.public AND ${notExpired}
          AND ${receiptNeedsAttention} IS DISTINCT FROM ${positionsCountSql(userId)}
      )::text[] AS exceptions,
      now() AS "countedAt"`;
}

/**
 * A live unseen count and what it needs to move by events alone. Per user it holds the user's
 * positions and the public notifications they misjudge, never a set of all public ones.
 */
export interface CountState {
  count: number;
  muted: Set<string>;
  /** The subscriber's filter (categories and priorities): what it leaves out is not counted. */
  filter: InboxFilter;
  /** The user's public seen position: public notifications up to it count as seen. */
  position: bigint;
  /** The user's archive positions, by archiveKey (a few per category at most). */
  archivePositions: Map<string, bigint>;
  /**
   * Public notifications (not expired) the positions misjudge: their receipt says otherwise
   * (seen, acknowledged, archived or snoozed though the positions count it, or marked unseen or
   * taken from the archive though the positions do not). Require-ack ones count by position
   * wherever they are, as they cannot be archived unacknowledged.
   */
  publicExceptions: Set<string>;
  /** The counted private notifications that will expire, and when: the user's own unseen. */
  privateExpiries: Map<string, Date>;
}

const archiveKey = (categoryName: string, priority: string) => `${priority} ${categoryName}`;

export function stateFromRow(row: CountRow, filter: InboxFilter = {}): CountState {
  return {
    count: Number(row.count),
    muted: new Set(row.muted ?? []),
    filter,
    position: row.position,
    archivePositions: new Map(
      (row.archivePositions ?? []).map((entry) => [
        archiveKey(entry.categoryName, entry.priority),
        BigInt(entry.seq),
      ]),
    ),
    publicExceptions: new Set(row.exceptions ?? []),
    privateExpiries: new Map(
      (row.privateExpiring ?? []).map(({ id, expiresAt }) => [id, new Date(expiresAt)]),
    ),
  };
}

type Counted = Pick<NotificationRecord, 'id' | 'seq' | 'categoryName' | 'priority' | 'requireAck'>;

/** Whether the notification is of a kind the filter keeps (categories and priorities). */
export function matchesKind(filter: InboxFilter, notification: Counted): boolean {
  if (filter.categories && !filter.categories.includes(notification.categoryName)) return false;
  return !filter.priorities || filter.priorities.includes(notification.priority);
}

/** Muted, or left out by the filter: neither counted nor delivered as new. */
const hidden = (state: CountState, notification: Counted) =>
  state.muted.has(notification.categoryName) || !matchesKind(state.filter, notification);

/** Whether the user's positions alone would count this public notification. */
function positionsCount(state: CountState, notification: Counted): boolean {
  if (notification.requireAck) return true;
  const archivedTo =
    state.archivePositions.get(archiveKey(notification.categoryName, notification.priority)) ?? 0n;
  return notification.seq > state.position && notification.seq > archivedTo;
}

/** Whether the user counts this public notification, expiry aside. */
function countsPublic(state: CountState, notification: Counted): boolean {
  if (hidden(state, notification)) return false;
  return positionsCount(state, notification) !== state.publicExceptions.has(notification.id);
}

/** Whether a notification in this state of the user's needs their attention. */
export function needsAttention(
  notification: Pick<NotificationRecord, 'requireAck'>,
  state: ReceiptTimes,
) {
  if (state.archivedAt || state.snoozedUntil) return false;
  return !state.seenAt || (notification.requireAck && !state.acknowledgedAt);
}

/** The counted private notifications that expired by `now` stop counting. */
export function applyPrivateExpiries(state: CountState, now: Date) {
  for (const [id, expiresAt] of state.privateExpiries) {
    if (expiresAt > now) continue;
    state.count -= 1;
    state.privateExpiries.delete(id);
  }
}

/** A counted public notification expired. */
export function applyPublicExpiry(state: CountState, notification: Counted) {
  if (countsPublic(state, notification)) state.count -= 1;
  state.publicExceptions.delete(notification.id);
}

/** The user's own changes of one notification: each event carries their state before and after. */
const CHANGES = new Set<NotificationEventType>([
  'SEEN',
  'UNSEEN',
  'ACKNOWLEDGED',
  'ARCHIVED',
  'UNARCHIVED',
  'SNOOZED',
  'UNSNOOZED',
]);

/**
 * Moves the count by one event (already known to be new to the count), or answers 'recount'
 * when only the database can say: a private deletion (was it seen?), markAllSeen and archiveAll.
 */
export function applyEvent(state: CountState, event: StreamEvent, now: Date): 'recount' | void {
  const { notification } = event;
  const isPublic = notification.public;
  const shown = !isExpired(notification, now) && !hidden(state, notification);
  if (CHANGES.has(event.type)) return applyChange(state, event, shown);
  switch (event.type) {
    case 'ALL_SEEN':
    case 'ALL_ARCHIVED':
      return 'recount';
    case 'DELETED':
      if (!isPublic) return 'recount';
      // An expired one stopped counting when it expired.
      if (shown && countsPublic(state, notification)) state.count -= 1;
      state.publicExceptions.delete(notification.id);
      return;
    case 'CREATED':
      if (event.fold?.replaces) applyFold(state, event.fold, shown);
      if (!shown) return;
      state.count += 1;
      if (!isPublic && notification.expiresAt) {
        state.privateExpiries.set(notification.id, notification.expiresAt);
      }
      return;
    case 'UPDATED':
      // New content only: what decides counting (category, audience, dates) never changes.
      return;
  }
}

/**
 * A grouped notification folded an earlier one of the user's (private, same category, so shown
 * or hidden alike): the earlier stops counting if it counted, that is if it needed attention
 * when folded and, if it expires, the counter still holds it (one it saw expire stopped
 * counting then).
 */
function applyFold(state: CountState, fold: Fold, shown: boolean) {
  const replaces = fold.replaces!;
  const held = fold.replacedExpiresAt === null || state.privateExpiries.has(replaces);
  if (shown && fold.replacedCounted && held) state.count -= 1;
  state.privateExpiries.delete(replaces);
}

/**
 * One of the user's own changes: the count moves by whether it needed attention before and
 * after. A public one's receipt speaks for it from now on, so it is an exception exactly when
 * the positions misjudge it. Events logged before they carried `before` (SEEN, ACKNOWLEDGED)
 * are judged by their type.
 */
function applyChange(state: CountState, event: StreamEvent, shown: boolean) {
  const { notification } = event;
  const after = event.before ? event.receipt! : legacyAfter(event.type);
  const before = event.before ?? noReceipt;
  const counts = needsAttention(notification, after);
  if (notification.public) {
    if (shown && countsPublic(state, notification) !== counts) state.count += counts ? 1 : -1;
    const exception = counts !== positionsCount(state, notification);
    if (exception) state.publicExceptions.add(notification.id);
    else state.publicExceptions.delete(notification.id);
    return;
  }
  if (shown && needsAttention(notification, before) !== counts) state.count += counts ? 1 : -1;
  if (shown && counts && notification.expiresAt) {
    state.privateExpiries.set(notification.id, notification.expiresAt);
  } else if (!counts) {
    state.privateExpiries.delete(notification.id);
  }
}

/** What a SEEN or ACKNOWLEDGED event logged without its states left (from unseen). */
function legacyAfter(type: NotificationEventType): ReceiptTimes {
  const at = new Date(0);
  return { ...noReceipt, seenAt: at, acknowledgedAt: type === 'ACKNOWLEDGED' ? at : null };
}

/**
 * Whether a logged event reaches a subscriber at all. An expired notification is never new to
 * anyone, so its CREATED is not delivered; a deleted one is gone (the log has no notification for
 * it) and reaches subscribers only as its DELETED event.
 */
export function deliverable(event: LoggedEvent, now = new Date()): event is StreamEvent {
  if (!event.notification) return false;
  return !(event.type === 'CREATED' && isExpired(event.notification, now));
}

/**
 * Whether a live event is held back from a subscriber: a new notification in a category the
 * user muted is not delivered (as it is not counted), though its event still moves the cursor;
 * later events of it (seen, deleted) still go out, so that a client holding it stays in step.
 * A notification the subscriber's filter leaves out is not delivered at all.
 */
export const heldBack = (
  event: StreamEvent,
  filter: InboxFilter,
  isMuted: (category: string) => boolean,
) =>
  !matchesKind(filter, event.notification) ||
  (event.type === 'CREATED' && isMuted(event.notification.categoryName));
