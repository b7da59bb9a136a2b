import { Prisma } from '../generated/prisma/client.js';
import type { LoggedEvent } from './event-log.js';
import {
  PUBLIC_STREAM,
  isExpired,
  type NotificationRecord,
  type NotificationView,
  type StreamEvent,
} from './types.js';

// What a user sees and counts, in one place: the SQL that lists and counts, and the arithmetic
// a live counter applies to events, side by side so that they cannot drift apart.
//
// A user sees the private notifications addressed to them (they have a receipt) and every
// public one. One needs attention while it is unseen, or seen but unacknowledged when it asks
// for an acknowledgement. Public ones up to the user's position (InboxState, moved by
// markAllSeen) count as seen at that time, without a receipt each. Expired notifications and
// muted categories are neither counted nor listed as unseen, nor delivered live as new.

const notExpired = Prisma.sql`(n."expiresAt" IS NULL OR n."expiresAt" > now())`;

/** Not in a category the user muted (a hashed set, not a lookup per row); `of` names the row. */
const notMuted = (userId: string, of = Prisma.sql`n`) => Prisma.sql`${of}."categoryName" NOT IN (
  SELECT p."categoryName" FROM "Preference" p WHERE p."userId" = ${userId} AND p.muted)`;

/** Every public notification up to this seq counts as seen by the user. */
const publicPosition = (userId: string) =>
  Prisma.sql`COALESCE((SELECT "publicSeenSeq" FROM "InboxState" WHERE "userId" = ${userId}), 0)`;
const publicSeenAt = (userId: string) =>
  Prisma.sql`(SELECT "publicSeenAt" FROM "InboxState" WHERE "userId" = ${userId})`;

/** The predicate of "Receipt_attention_idx", word for word, so that the planner uses it. */
const receiptNeedsAttention = Prisma.sql`(r."seenAt" IS NULL OR (r."requireAck" AND r."acknowledgedAt" IS NULL))`;

const userReceipt = (userId: string) =>
  Prisma.sql`LEFT JOIN "Receipt" r ON r."notificationId" = n.id AND r."userId" = ${userId}`;

/** The user's seenAt of a public notification: their receipt's, else their position's. */
const publicSeenAtOf = (userId: string) =>
  Prisma.sql`COALESCE(r."seenAt", CASE WHEN n.seq <= ${publicPosition(userId)} THEN ${publicSeenAt(userId)} END)`;

/** What a list selects of each row: the notification with the user's own times. */
const asView = (seenAt: Prisma.Sql) => Prisma.sql`n.*, ${seenAt} AS "seenAt", r."acknowledgedAt"`;

/** A receipt of a notification the user dealt with: seen, and acknowledged if asked. */
const dealtWith = Prisma.sql`a."seenAt" IS NOT NULL AND (NOT a."requireAck" OR a."acknowledgedAt" IS NOT NULL)`;

/**
 * The public notifications the user dealt with themselves (seen, and acknowledged if asked),
 * or acknowledged: read through the partial index of their public receipts as one hashed set,
 * never their whole history.
 */
const publicDealtWith = (userId: string) => Prisma.sql`n.id IN (
  SELECT a."notificationId" FROM "Receipt" a WHERE a."userId" = ${userId} AND a.public
    AND ${dealtWith})`;
const publicAcknowledged = (userId: string) => Prisma.sql`n.id IN (
  SELECT a."notificationId" FROM "Receipt" a WHERE a."userId" = ${userId} AND a.public
    AND a."acknowledgedAt" IS NOT NULL)`;

/** Public, above the user's position: what they have not dealt with. */
const publicAbove = (userId: string) =>
  Prisma.sql`n.public AND n.seq > ${publicPosition(userId)} AND ${notExpired}`;

/** seq >> TALLY_BITS is the bucket of a public notification's tally (PublicTally). */
const TALLY_BITS = 10;

/**
 * How many live public notifications there are above `position` (or at or below it), of the
 * categories `shown` lets through (a condition on a row alias with "categoryName" and
 * "requireAck"), only require-ack ones if `requireAck`. Read from the tallies of the buckets wholly
 * on that side, plus the rows of the position's own bucket (at most 1 << TALLY_BITS, through a
 * public seq index), less those expired but not yet settled (as many as the job is behind): a
 * bounded read however many public notifications there are.
 */
function livePublicCount(
  side: 'above' | 'atOrBelow',
  position: Prisma.Sql,
  shown: (of: Prisma.Sql) => Prisma.Sql,
  requireAck = false,
) {
  const bucket = Prisma.sql`(${position} >> ${TALLY_BITS})`;
  const edge =
    side === 'above'
      ? Prisma.sql`((${bucket} + 1) << ${TALLY_BITS})`
      : Prisma.sql`(${bucket} << ${TALLY_BITS})`;
  const [tallies, rows, unsettled] =
    side === 'above'
      ? [
          Prisma.sql`t.bucket > ${bucket}`,
          Prisma.sql`n.seq > ${position} AND n.seq < ${edge}`,
          Prisma.sql`q.seq >= ${edge}`,
        ]
      : [
          Prisma.sql`t.bucket < ${bucket}`,
          Prisma.sql`n.seq <= ${position} AND n.seq >= ${edge}`,
          Prisma.sql`q.seq < ${edge}`,
        ];
  const onlyAck = (of: Prisma.Sql) =>
    requireAck ? Prisma.sql`AND ${of}."requireAck"` : Prisma.empty;
  return Prisma.sql`(
    (SELECT COALESCE(sum(${requireAck ? Prisma.sql`t."requireAck"` : Prisma.sql`t.live`}), 0)
      FROM "PublicTally" t WHERE ${tallies} AND ${shown(Prisma.sql`t`)})
    + (SELECT count(*) FROM "Notification" n
      WHERE n.public ${onlyAck(Prisma.sql`n`)} AND ${rows} AND ${notExpired} AND ${shown(Prisma.sql`n`)})
    - (SELECT count(*) FROM "PublicExpiry" q
      WHERE (q."expiresAt", q.seq) > (
          (SELECT "through" FROM "PublicExpirySettled"),
          (SELECT "throughSeq" FROM "PublicExpirySettled"))
        AND q."expiresAt" <= now() ${onlyAck(Prisma.sql`q`)} AND ${unsettled} AND ${shown(Prisma.sql`q`)}))`;
}

/**
 * The user's public notifications with a receipt matching `receipt` (alias a), not expired and
 * `shown`: through the partial index of their public receipts, never the public notifications.
 */
const publicReceipted = (userId: string, receipt: Prisma.Sql, shown: Prisma.Sql) => Prisma.sql`
  SELECT n.id, n.seq, n."requireAck" FROM "Receipt" a JOIN "Notification" n ON n.id = a."notificationId"
  WHERE a."userId" = ${userId} AND a.public AND ${receipt} AND ${notExpired} AND ${shown}`;

/**
 * What needs the user's attention, in three parts that each walk an index: their private
 * receipts that need attention (a partial index: not their history), the public notifications
 * above their position, and the require-ack public ones at or below it. `columns` picks what
 * each part selects, given its seenAt expression.
 */
function unseenParts(userId: string, columns: (seenAt: Prisma.Sql) => Prisma.Sql) {
  const shown = Prisma.sql`${notExpired} AND ${notMuted(userId)}`;
  return [
    // LATERAL with OFFSET 0: one primary-key probe per receipt needing attention, whatever the
    // planner guesses of a user with a long history.
    Prisma.sql`SELECT ${columns(Prisma.sql`r."seenAt"`)} FROM "Receipt" r CROSS JOIN LATERAL (
        SELECT * FROM "Notification" n
        WHERE n.id = r."notificationId" AND NOT n.public AND ${shown} OFFSET 0) n
      WHERE r."userId" = ${userId} AND ${receiptNeedsAttention}`,
    Prisma.sql`SELECT ${columns(Prisma.sql`r."seenAt"`)} FROM "Notification" n ${userReceipt(userId)}
      WHERE ${publicAbove(userId)} AND NOT ${publicDealtWith(userId)} AND ${notMuted(userId)}`,
    Prisma.sql`SELECT ${columns(Prisma.sql`COALESCE(r."seenAt", ${publicSeenAt(userId)})`)}
      FROM "Notification" n ${userReceipt(userId)}
      WHERE n.public AND n."requireAck" AND n.seq <= ${publicPosition(userId)}
        AND NOT ${publicAcknowledged(userId)} AND ${shown}`,
  ];
}

/**
 * The same rule for one notification as the user sees it (their seenAt, which for a public one
 * below their position is the position's, and acknowledgedAt): whether unseenNotifications lists
 * it and unseenCount counts it. Support shows it beside each notification of a user's history.
 */
export function needsAttention(view: NotificationView, muted: ReadonlySet<string>, now: Date) {
  if (isExpired(view, now) || muted.has(view.categoryName)) return false;
  return view.seenAt === null || (view.requireAck && view.acknowledgedAt === null);
}

/** The newest `limit` notifications needing attention, as the user sees them. */
export function unseenListSql(userId: string, limit: number) {
  const parts = unseenParts(userId, asView).map(
    (part) => Prisma.sql`(${part} ORDER BY n.seq DESC LIMIT ${limit})`,
  );
  return Prisma.sql`${Prisma.join(parts, ' UNION ALL ')} ORDER BY seq DESC LIMIT ${limit}`;
}

/** Everything the user can see matching `condition`, as they see it (history, by id). */
function visibleParts(userId: string, condition: Prisma.Sql) {
  return [
    Prisma.sql`SELECT ${asView(Prisma.sql`r."seenAt"`)} FROM "Receipt" r
      JOIN "Notification" n ON n.id = r."notificationId"
      WHERE r."userId" = ${userId} AND NOT n.public AND ${condition}`,
    Prisma.sql`SELECT ${asView(publicSeenAtOf(userId))} FROM "Notification" n ${userReceipt(userId)}
      WHERE n.public AND ${condition}`,
  ];
}

export const visibleSql = (userId: string, condition: Prisma.Sql) =>
  Prisma.join(visibleParts(userId, condition), ' UNION ALL ');

/**
 * The newest `limit` of visibleSql. Each half is ordered and limited on its own first, so the
 * public half walks its (public, seq) index backwards and stops.
 */
export function newestVisibleSql(userId: string, condition: Prisma.Sql, limit: number) {
  const parts = visibleParts(userId, condition).map(
    (part) => Prisma.sql`(${part} ORDER BY n.seq DESC LIMIT ${limit})`,
  );
  return Prisma.sql`${Prisma.join(parts, ' UNION ALL ')} ORDER BY seq DESC LIMIT ${limit}`;
}

/**
 * Waits for public sends in flight and holds off new ones until commit, so that the position
 * markAllSeen takes (in its next statement, which sees them) never passes an unseen one.
 */
export const holdPublicSendsSql = () =>
  Prisma.sql`SELECT 1 FROM "Stream" WHERE id = ${PUBLIC_STREAM} FOR SHARE`;

/**
 * markAllSeen in one statement: moves the user's public position to the newest public
 * notification and marks their unseen private receipts seen; one row written per private
 * notification, one for all public ones. Answers how many became seen and the newest of them.
 * Run it after holdPublicSendsSql, in the same transaction.
 */
export function markAllSeenSql(userId: string) {
  const from = Prisma.sql`b."from"`;
  const all = () => Prisma.sql`TRUE`;
  // The public ones it marks: live above the position (from the tallies; under the hold, `to`
  // is the newest of them), less those the user saw one by one; the newest found by walking
  // down from the top past the ones they saw.
  return Prisma.sql`
    WITH bounds AS (
      SELECT ${publicPosition(userId)} AS "from",
        (SELECT COALESCE(max(seq), 0) FROM "Notification" WHERE public) AS "to"),
    public_marked AS (
      SELECT ${livePublicCount('above', from, all)}
          - (SELECT count(*) FROM (${publicReceipted(userId, Prisma.sql`a."seenAt" IS NOT NULL`, Prisma.sql`n.seq > ${from}`)}) s)
          AS count,
        (SELECT n.seq FROM "Notification" n ${userReceipt(userId)}
          WHERE n.public AND n.seq > ${from} AND r."seenAt" IS NULL AND ${notExpired}
          ORDER BY n.seq DESC LIMIT 1) AS newest
      FROM bounds b),
    moved AS (
      INSERT INTO "InboxState" ("userId", "publicSeenSeq", "publicSeenAt")
      SELECT ${userId}, b."to", now() FROM bounds b WHERE b."to" > b."from"
      ON CONFLICT ("userId") DO UPDATE
        SET "publicSeenSeq" = EXCLUDED."publicSeenSeq", "publicSeenAt" = EXCLUDED."publicSeenAt"
      RETURNING 1),
    private_marked AS (
      UPDATE "Receipt" r SET "seenAt" = now(), "requireAck" = n."requireAck"
      FROM "Notification" n
      WHERE r."userId" = ${userId} AND r."seenAt" IS NULL AND n.id = r."notificationId"
        AND NOT n.public AND ${notExpired}
      RETURNING n.seq)
    SELECT (SELECT count FROM public_marked) + (SELECT count(*) FROM private_marked) AS marked,
      GREATEST((SELECT newest FROM public_marked), (SELECT max(seq) FROM private_marked))
        AS "newestSeq"`;
}

/** The newest notification a markAllSeen covered, held against deletion, as the user sees it. */
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
  /** Public notifications the user dealt with (see CountState.publicDealtWith). */
  dealtWith: string[] | null;
  countedAt: Date;
}

/**
 * The user's count without walking public notifications: the private ones needing attention
 * (their own receipts), the live public ones above their position and the require-ack ones at or
 * below it (from the tallies), less the public ones of each kind they dealt with (their own
 * public receipts).
 */
export function countSql(userId: string) {
  const [privatePart] = unseenParts(userId, () => Prisma.sql`n.id, n."expiresAt"`);
  const position = publicPosition(userId);
  const shown = (of: Prisma.Sql) => notMuted(userId, of);
  return Prisma.sql`
    WITH dealt AS MATERIALIZED (${publicReceipted(userId, dealtWith, notMuted(userId))}),
    uncounted AS MATERIALIZED (SELECT * FROM dealt WHERE seq > ${position} OR "requireAck")
    SELECT
      (SELECT count(*) FROM (${privatePart}) p)
        + ${livePublicCount('above', position, shown)}
        + ${livePublicCount('atOrBelow', position, shown, true)}
        - (SELECT count(*) FROM uncounted) AS count,
      (SELECT json_agg(json_build_object('id', id, 'expiresAt', "expiresAt"))
        FROM (${privatePart}) p WHERE "expiresAt" IS NOT NULL) AS "privateExpiring",
      (SELECT array_agg("categoryName") FROM "Preference" WHERE "userId" = ${userId} AND muted)
        AS muted,
      ${position} AS position,
      array(SELECT id FROM uncounted)::text[] AS "dealtWith",
      now() AS "countedAt"`;
}

/**
 * A live unseen count and what it needs to move by events alone. Per user it holds the user's
 * position and the public notifications they dealt with, never a set of all public ones.
 */
export interface CountState {
  count: number;
  muted: Set<string>;
  /** The user's public position: public notifications up to it count as seen. */
  position: bigint;
  /**
   * Public notifications (not expired) the user dealt with (seen, and acknowledged if asked),
   * above their position or asking for an acknowledgement: not counted, though the position
   * alone would count them.
   */
  publicDealtWith: Set<string>;
  /** The counted private notifications that will expire, and when: the user's own unseen. */
  privateExpiries: Map<string, Date>;
}

export function stateFromRow(row: CountRow): CountState {
  return {
    count: Number(row.count),
    muted: new Set(row.muted ?? []),
    position: row.position,
    publicDealtWith: new Set(row.dealtWith ?? []),
    privateExpiries: new Map(
      (row.privateExpiring ?? []).map(({ id, expiresAt }) => [id, new Date(expiresAt)]),
    ),
  };
}

type Counted = Pick<NotificationRecord, 'id' | 'seq' | 'categoryName' | 'requireAck'>;

/**
 * Whether the user counts this public notification, expiry aside: above their position, or
 * asking for an acknowledgement, unless they dealt with it.
 */
function countsPublic(state: CountState, notification: Counted): boolean {
  if (state.muted.has(notification.categoryName)) return false;
  if (state.publicDealtWith.has(notification.id)) return false;
  return notification.seq > state.position || notification.requireAck;
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
  state.publicDealtWith.delete(notification.id);
}

/**
 * Moves the count by one event (already known to be new to the count), or answers 'recount'
 * when only the database can say: a private deletion (was it seen?) and markAllSeen.
 */
export function applyEvent(state: CountState, event: StreamEvent, now: Date): 'recount' | void {
  const { notification } = event;
  const isPublic = notification.public;
  const shown = !isExpired(notification, now) && !state.muted.has(notification.categoryName);
  switch (event.type) {
    case 'ALL_SEEN':
      return 'recount';
    case 'DELETED':
      if (!isPublic) return 'recount';
      // An expired one stopped counting when it expired.
      if (shown && countsPublic(state, notification)) state.count -= 1;
      state.publicDealtWith.delete(notification.id);
      return;
    case 'CREATED':
      if (!shown) return;
      state.count += 1;
      if (!isPublic && notification.expiresAt) {
        state.privateExpiries.set(notification.id, notification.expiresAt);
      }
      return;
    case 'SEEN':
      // Seen: no longer needs attention, unless it still waits for an acknowledgement.
      if (notification.requireAck) return;
      uncount(state, notification, shown);
      if (isPublic) state.publicDealtWith.add(notification.id);
      return;
    case 'ACKNOWLEDGED':
      uncount(state, notification, shown);
      if (isPublic) state.publicDealtWith.add(notification.id);
      return;
    case 'DIGEST':
      return;
  }
}

/** It no longer needs attention: it stops counting (and will not expire from the count). */
function uncount(state: CountState, notification: Counted, shown: boolean) {
  if (shown) state.count -= 1;
  state.privateExpiries.delete(notification.id);
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
 * Whether a live event is held back because the user muted its category: a new notification
 * there is not delivered (as it is not counted), though its event still moves the cursor. Later
 * events of it (seen, deleted) still go out, so that a client holding it stays in step.
 */
export const mutedForUser = (event: StreamEvent, isMuted: (category: string) => boolean) =>
  event.type === 'CREATED' && isMuted(event.notification.categoryName);
