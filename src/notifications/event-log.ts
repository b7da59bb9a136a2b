import type { Database, Queryable } from '../db/client.js';
import type { SqlReader } from '../db/sql-reader.js';
import { Prisma, type Event } from '../generated/prisma/client.js';
import { DomainError } from '../errors.js';
import {
  PUBLIC_STREAM,
  userStream,
  type Fold,
  type NotificationEventType,
  type NotificationRecord,
  type ReceiptTimes,
  type StreamEvent,
} from './types.js';

// The event log: every CREATED/SEEN/ACKNOWLEDGED/UPDATED/DELETED is written here in the transaction
// that causes it, then published. Subscribers replay it after a cursor and fill gaps from it.

export interface EventDraft {
  stream: string;
  type: NotificationEventType;
  notification: NotificationRecord;
  receipt?: ReceiptTimes | null;
  /** For the user's own changes: their state just before (`receipt` is the state after). */
  before?: ReceiptTimes | null;
  /** For DELETED: the notification is kept only as a tombstone (no content). */
  tombstone?: boolean;
}

/** What the `events` CTE of appendEventsSql returns for each appended event. */
export interface AppendedRow {
  id: string;
  stream: string;
  seq: string;
  notificationId: string;
  /** What a grouped send did in this stream (see Fold), as stored. */
  state?: StoredFold | null;
}

/**
 * CTEs that append the events selected by `drafts` (columns stream, type, "notificationId",
 * tombstone, state, ord) and end in `events`, for use inside a larger statement. Each stream's head
 * row is locked in sorted order until commit, so seq numbers are gapless and committed in
 * order, and concurrent writers to overlapping streams cannot deadlock.
 */
export function appendEventsSql(drafts: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    drafts AS (${drafts}),
    counts AS (SELECT stream, count(*)::bigint AS n FROM drafts GROUP BY stream),
    heads AS (
      INSERT INTO "Stream" (id, seq) SELECT stream, n FROM counts ORDER BY stream
      ON CONFLICT (id) DO UPDATE SET seq = "Stream".seq + EXCLUDED.seq
      RETURNING id, seq),
    events AS (
      INSERT INTO "Event" (stream, seq, type, "notificationId", tombstone, state)
      SELECT d.stream, h.seq - c.n + row_number() OVER (PARTITION BY d.stream ORDER BY d.ord),
             d.type, d."notificationId", d.tombstone, d.state
      FROM drafts d JOIN heads h ON h.id = d.stream JOIN counts c ON c.stream = d.stream
      ORDER BY d.ord
      RETURNING id::text, stream, seq::text, "notificationId"::text, state)`;
}

/** Pairs appended rows with their drafts (a stream has one event per notification per call). */
export function toStreamEvents(drafts: EventDraft[], rows: AppendedRow[]): StreamEvent[] {
  const key = (stream: string, notificationId: string) => `${stream}|${notificationId}`;
  const byKey = new Map(drafts.map((draft) => [key(draft.stream, draft.notification.id), draft]));
  return rows
    .map((row) => {
      const draft = byKey.get(key(row.stream, row.notificationId))!;
      return {
        id: BigInt(row.id),
        stream: row.stream,
        seq: BigInt(row.seq),
        type: draft.type,
        notification: draft.tombstone
          ? reviveTombstone(tombstoneOf(draft.notification))
          : draft.notification,
        receipt: draft.receipt ?? null,
        before: draft.before ?? null,
        fold: foldOf(row.state),
      };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Appends events, numbered within their streams; see appendEventsSql. */
export async function appendEvents(tx: Queryable, drafts: EventDraft[]): Promise<StreamEvent[]> {
  if (drafts.length === 0) return [];
  const rows = await tx.$queryRaw<AppendedRow[]>`
    WITH ${appendEventsSql(Prisma.sql`
      SELECT * FROM unnest(
        ${drafts.map((draft) => draft.stream)}::text[],
        ${drafts.map((draft) => draft.type)}::"NotificationEventType"[],
        ${drafts.map((draft) => draft.notification.id)}::uuid[],
        ${drafts.map((draft) => (draft.tombstone ? JSON.stringify(tombstoneOf(draft.notification)) : null))}::jsonb[],
        ${drafts.map(stateOf)}::jsonb[]
      ) WITH ORDINALITY AS d(stream, type, "notificationId", tombstone, state, ord)`)}
    SELECT * FROM events`;
  return toStreamEvents(drafts, rows);
}

/** A subscriber's position: the last seq it has of the public stream and of its own. */
export interface Cursor {
  public: bigint;
  user: bigint;
}

export const encodeCursor = (cursor: Cursor) => `${cursor.public}.${cursor.user}`;

export function parseCursor(text: string): Cursor {
  const match = /^(\d{1,18})\.(\d{1,18})$/.exec(text);
  if (!match) throw new DomainError('BAD_USER_INPUT', 'after is not a cursor this server issued');
  return { public: BigInt(match[1]!), user: BigInt(match[2]!) };
}

/** The cursor as it stands now: a subscription from here gets only what happens next. */
export async function currentCursor(database: SqlReader, userId: string): Promise<Cursor> {
  const [heads] = await database.$queryRaw<[{ public: bigint | null; user: bigint | null }]>`
    SELECT (SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}) AS public,
      (SELECT seq FROM "Stream" WHERE id = ${userStream(userId)}) AS user`;
  return { public: heads.public ?? 0n, user: heads.user ?? 0n };
}

/** Moves a cursor past an event of the public stream or of the user's own. */
export function advance(cursor: Cursor, event: Pick<StreamEvent, 'stream' | 'seq'>): Cursor {
  return event.stream === PUBLIC_STREAM
    ? { ...cursor, public: event.seq }
    : { ...cursor, user: event.seq };
}

export const positionIn = (cursor: Cursor, stream: string) =>
  stream === PUBLIC_STREAM ? cursor.public : cursor.user;

/** A logged event; `notification` is null when the notification was deleted since. */
export type LoggedEvent = Omit<StreamEvent, 'notification'> & {
  notification: NotificationRecord | null;
};

/** The events of `streams` (the public one and/or the user's) after `cursor`, oldest first. */
export async function eventsAfter(
  database: Database,
  userId: string,
  streams: string[],
  cursor: Cursor,
  limit: number,
): Promise<LoggedEvent[]> {
  const rows = await database.$queryRaw<Event[]>(eventsAfterSql(streams, cursor, limit));
  await ensureRetained(
    database,
    streams.map((stream) => [stream, positionIn(cursor, stream)]),
  );
  return hydrate(database, userId, rows);
}

/**
 * One index-ordered, limited read per stream (on its (stream, seq) index), merged by id: an
 * `OR` of the streams under one `ORDER BY id LIMIT` walks the primary key over every stream's
 * events. Within a stream, id order is seq order (ids are drawn under the stream's head lock).
 */
export function eventsAfterSql(streams: string[], cursor: Cursor, limit: number): Prisma.Sql {
  const halves = streams.map(
    (stream) => Prisma.sql`(
      SELECT * FROM "Event" WHERE stream = ${stream} AND seq > ${positionIn(cursor, stream)}
      ORDER BY seq LIMIT ${limit})`,
  );
  return Prisma.sql`
    SELECT * FROM (${Prisma.join(halves, ' UNION ALL ')}) AS page ORDER BY id LIMIT ${limit}`;
}

/** The first `limit` events of one stream with `from < seq < to`: a gap a live subscriber noticed. */
export async function eventsBetween(
  database: Database,
  userId: string,
  stream: string,
  from: bigint,
  to: bigint,
  limit: number,
): Promise<LoggedEvent[]> {
  const rows = await database.event.findMany({
    where: { stream, seq: { gt: from, lt: to } },
    orderBy: { seq: 'asc' },
    take: limit,
  });
  await ensureRetained(database, [[stream, from]]);
  return hydrate(database, userId, rows);
}

/**
 * Refuses to pass off a read as whole when the prune removed events after a position (events
 * of deleted notifications are gone too, but their DELETED events follow: nothing is missed).
 * Checked after the read: a prune that committed before it shows here; one that committed
 * since took nothing from it, though the check may then refuse a read that was whole.
 */
async function ensureRetained(database: Database, positions: [string, bigint][]) {
  const heads = await database.stream.findMany({
    where: { id: { in: positions.map(([stream]) => stream) } },
    select: { id: true, prunedThrough: true },
  });
  const pruned = new Map(heads.map((head) => [head.id, head.prunedThrough]));
  if (positions.some(([stream, after]) => (pruned.get(stream) ?? 0n) > after)) {
    throw new DomainError(
      'CURSOR_EXPIRED',
      'events after this cursor are no longer kept: reload unseenNotifications and eventCursor, then subscribe from that cursor',
    );
  }
}

/**
 * CTEs that raise each stream's prunedThrough to the seq a `marks` CTE (stream, seq) gives it,
 * for use after `marks` in a larger statement. Head rows are locked in sorted order, as
 * appenders lock them, so the two cannot deadlock.
 */
export const raisePrunedThroughSql = Prisma.sql`
    locked AS (
      SELECT s.id FROM "Stream" s JOIN marks m ON m.stream = s.id ORDER BY s.id FOR UPDATE OF s),
    raised AS (
      UPDATE "Stream" s SET "prunedThrough" = greatest(s."prunedThrough", m.seq)
      FROM marks m WHERE s.id = m.stream AND s.id IN (SELECT id FROM locked))`;

/**
 * Removes up to `limit` of the events logged before `cutoff` and raises each stream's prunedThrough past them,
 * in one statement, so a reader sees both or neither. The cutoff on the DELETE itself keeps the
 * later days' partitions out of its plan.
 */
export async function pruneEventsBefore(
  database: Database,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const [{ count }] = await database.$queryRaw<[{ count: number }]>`
    WITH pruned AS (
      DELETE FROM "Event" WHERE "createdAt" < ${cutoff} AND id = ANY(ARRAY(
        SELECT id FROM "Event" WHERE "createdAt" < ${cutoff} LIMIT ${limit}))
      RETURNING stream, seq),
    marks AS (SELECT stream, max(seq) AS seq FROM pruned GROUP BY stream),
    ${raisePrunedThroughSql}
    SELECT count(*)::int AS count FROM pruned`;
  return count;
}

/** What an event of the user's own change keeps: their state before and after it. */
interface StoredState {
  before: Record<keyof ReceiptTimes, string | null>;
  after: Record<keyof ReceiptTimes, string | null>;
}

function stateOf(draft: EventDraft): string | null {
  if (!draft.before || !draft.receipt) return null;
  return JSON.stringify({ before: draft.before, after: draft.receipt });
}

function reviveTimes(times: Record<keyof ReceiptTimes, string | null>): ReceiptTimes {
  const date = (value: string | null | undefined) => (value == null ? null : new Date(value));
  return {
    seenAt: date(times.seenAt),
    acknowledgedAt: date(times.acknowledgedAt),
    archivedAt: date(times.archivedAt),
    snoozedUntil: date(times.snoozedUntil),
    updatedAt: date(times.updatedAt),
  };
}

/** What a grouped send's CREATED event keeps in its state (see Fold). */
export interface StoredFold {
  fold: {
    groupCount: number;
    replaces: string | null;
    replacedCounted: boolean;
    replacedExpiresAt: string | null;
  };
}

export function foldOf(state: unknown): Fold | null {
  const stored = state as Partial<StoredFold> | null | undefined;
  if (!stored?.fold) return null;
  const { replacedExpiresAt, ...rest } = stored.fold;
  return { ...rest, replacedExpiresAt: replacedExpiresAt ? new Date(replacedExpiresAt) : null };
}

/**
 * The user's state for a logged event: as the event left it when the event kept it (the user's
 * own changes), else as their receipt says now.
 */
function receiptFor(row: Event, current: ReceiptTimes | undefined) {
  const fold = foldOf(row.state);
  if (fold) return { receipt: current ?? null, before: null, fold };
  if (!row.state) return { receipt: current ?? null, before: null };
  const state = row.state as unknown as StoredState;
  return { receipt: reviveTimes(state.after), before: reviveTimes(state.before) };
}

async function hydrate(database: Database, userId: string, rows: Event[]): Promise<LoggedEvent[]> {
  const ids = [...new Set(rows.filter((row) => !row.tombstone).map((row) => row.notificationId))];
  // A client resuming from the head (every connect) replays nothing: no reads for it.
  if (ids.length === 0) return rows.map((row) => hydrated(row, undefined, undefined));
  const [notifications, receipts] = await Promise.all([
    database.notification.findMany({ where: { id: { in: ids } } }),
    database.receipt.findMany({ where: { userId, notificationId: { in: ids } } }),
  ]);
  const notificationById = new Map(notifications.map((n) => [n.id, n]));
  const receiptById = new Map(receipts.map((r) => [r.notificationId, r]));
  return rows.map((row) =>
    hydrated(row, notificationById.get(row.notificationId), receiptById.get(row.notificationId)),
  );
}

function hydrated(
  row: Event,
  notification: NotificationRecord | undefined,
  receipt: (ReceiptTimes & { groupCount: number }) | undefined,
): LoggedEvent {
  return {
    id: row.id,
    stream: row.stream,
    seq: row.seq,
    type: row.type,
    notification: row.tombstone
      ? reviveTombstone(row.tombstone as Tombstone)
      : withGroupCount(notification, receipt?.groupCount),
    ...receiptFor(row, receipt),
  };
}

/** A grouped one carries the user's groupCount with it, as the lists show it. */
function withGroupCount(notification: NotificationRecord | undefined, groupCount = 1) {
  if (!notification) return null;
  return groupCount === 1 ? notification : { ...notification, groupCount };
}

export type Tombstone = Record<string, string | boolean | null>;

/** What a DELETED event keeps: the identity and dates, none of the content. */
export function tombstoneOf(notification: NotificationRecord): Tombstone {
  return {
    id: notification.id,
    seq: notification.seq.toString(),
    categoryName: notification.categoryName,
    priority: notification.priority,
    requireAck: notification.requireAck,
    public: notification.public,
    sender: notification.sender,
    createdAt: notification.createdAt.toISOString(),
    expiresAt: notification.expiresAt?.toISOString() ?? null,
    deleteAt: notification.deleteAt.toISOString(),
  };
}

function reviveTombstone(tombstone: Tombstone): NotificationRecord {
  const date = (value: unknown) => (typeof value === 'string' ? new Date(value) : null);
  return {
    id: tombstone.id as string,
    seq: BigInt(tombstone.seq as string),
    categoryName: tombstone.categoryName as string,
    priority: tombstone.priority as NotificationRecord['priority'],
    requireAck: tombstone.requireAck as boolean,
    batchWindowSeconds: null,
    public: tombstone.public as boolean,
    sender: tombstone.sender as string,
    title: '',
    body: null,
    data: null,
    icon: null,
    actionUrl: null,
    templateKey: null,
    groupKey: null,
    createdAt: date(tombstone.createdAt)!,
    editedAt: null,
    expiresAt: date(tombstone.expiresAt),
    deleteAt: date(tombstone.deleteAt)!,
  };
}
