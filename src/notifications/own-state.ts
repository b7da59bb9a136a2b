import type { Database, Queryable } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { Prisma } from '../generated/prisma/client.js';
import { appendEvents } from './event-log.js';
import { visibleByIds } from './inbox.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import {
  receiptOf,
  userStream,
  type NotificationEventType,
  type NotificationRecord,
  type NotificationView,
  type ReceiptTimes,
} from './types.js';
import { checkIds, isNotificationId } from './validation.js';
import { holdPublicSendsSql, newestCoveredSql } from './visibility.js';

// A user's own state of their notifications (seen, acknowledged, archived, snoozed) changes
// here, whatever the change. Each change is one transaction that holds the notifications against
// deletion (so a receipt never points at a deleted one: NOT_FOUND instead), runs alone among the
// user's own changes, and writes the whole new state to the user's receipts (a public one gets
// its receipt then, starting from what the user's positions said), with one event per
// notification that changed, carrying the state before and after: so every event moves a live
// count by exactly what it did, replayed or live.

export type Deps = PublishDeps & { database: Database };

/** One user's changes, one at a time: an event is judged against the state it changed. */
export const lockInbox = (tx: Queryable, userId: string) =>
  tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`inbox:${userId}`}, 0))`;

/**
 * All of `ids` as the user sees them, held against deletion until commit, or NOT_FOUND naming
 * the first that is not theirs (or is gone).
 */
async function requireVisible(tx: Queryable, userId: string, ids: string[]) {
  const unique = [...new Set(ids)];
  const malformed = unique.find((id) => !isNotificationId(id));
  if (malformed) throw notFound(malformed);
  await tx.$queryRaw`
    SELECT id FROM "Notification" WHERE id = ANY(${unique}::uuid[]) FOR KEY SHARE`;
  const found = new Map((await visibleByIds(tx, userId, unique)).map((view) => [view.id, view]));
  const missing = unique.find((id) => !found.has(id));
  if (missing) throw notFound(missing);
  return found;
}

const notFound = (id: string) => new DomainError('NOT_FOUND', `no notification ${id}`);

/**
 * What a change makes of one notification, given the user's view of it and the database's
 * time: the fields that change, or null when it is already so. It throws (a DomainError) to
 * refuse the whole call.
 */
export type Change = (view: NotificationView, now: Date) => Partial<ReceiptTimes> | null;

/**
 * Applies `change` to each of `ids` (all or none) and logs a `type` event for each that
 * changed; answers the notifications as the user now sees them, in the order of `ids`.
 */
export async function changeOwnState(
  deps: Deps,
  userId: string,
  ids: string[],
  type: NotificationEventType,
  change: Change,
): Promise<NotificationView[]> {
  checkIds(ids);
  const { views, events } = await deps.database.$transaction(async (tx) => {
    await lockInbox(tx, userId);
    const views = await requireVisible(tx, userId, ids);
    const [{ now }] = await tx.$queryRaw<[{ now: Date }]>`SELECT now()`;
    const changed = [...views.values()].flatMap((view) => {
      const fields = change(view, now);
      if (!fields) return [];
      const before = receiptOf(view);
      Object.assign(view, fields, { updatedAt: now });
      return [{ view, before }];
    });
    if (changed.length === 0) return { views, events: [] };
    await writeReceipts(
      tx,
      userId,
      changed.map(({ view }) => view),
    );
    const events = await appendEvents(
      tx,
      changed.map(({ view, before }) => ({
        stream: userStream(userId),
        type,
        notification: recordOf(view),
        receipt: receiptOf(view),
        before,
      })),
    );
    return { views, events };
  });
  await publishCommitted(deps, events);
  return ids.map((id) => views.get(id)!);
}

/**
 * A change of everything at once (markAllSeen, archiveAll): `statement` changes what it covers
 * and answers how many and the newest of them, in one transaction that holds off public sends
 * (so a position it takes never passes one not yet committed); one `type` event, naming the
 * newest, tells the user's subscribers. Answers how many it changed.
 */
export async function changeAll(
  deps: Deps,
  userId: string,
  statement: Prisma.Sql,
  type: NotificationEventType,
): Promise<number> {
  const { changed, events } = await deps.database.$transaction(async (tx) => {
    await lockInbox(tx, userId);
    await tx.$queryRaw`${holdPublicSendsSql()}`;
    const [result] = await tx.$queryRaw<{ changed: bigint; newestSeq: bigint | null }[]>`
      ${statement}`;
    const changed = Number(result!.changed);
    if (changed === 0 || result!.newestSeq === null) return { changed, events: [] };
    const [newest] = await tx.$queryRaw<NotificationView[]>`
      ${newestCoveredSql(userId, result!.newestSeq)}`;
    if (!newest) return { changed, events: [] };
    const events = await appendEvents(tx, [
      {
        stream: userStream(userId),
        type,
        notification: recordOf(newest),
        receipt: receiptOf(newest),
      },
    ]);
    return { changed, events };
  });
  await publishCommitted(deps, events);
  return changed;
}

const iso = (value: Date | null) => value?.toISOString() ?? null;

/** Writes the user's whole state of each view to their receipt, creating it if need be. */
async function writeReceipts(tx: Queryable, userId: string, views: NotificationView[]) {
  const column = (field: keyof ReceiptTimes) => views.map((view) => iso(view[field]));
  await tx.$executeRaw`
    INSERT INTO "Receipt" ("notificationId", "userId", "seenAt", "acknowledgedAt", "archivedAt",
      "snoozedUntil", "updatedAt", seq, "requireAck", public)
    SELECT s.id, ${userId}, s."seenAt", s."acknowledgedAt", s."archivedAt", s."snoozedUntil",
      s."updatedAt", n.seq, n."requireAck", n.public
    FROM unnest(${views.map((view) => view.id)}::uuid[],
      ${column('seenAt')}::timestamptz[], ${column('acknowledgedAt')}::timestamptz[],
      ${column('archivedAt')}::timestamptz[], ${column('snoozedUntil')}::timestamptz[],
      ${column('updatedAt')}::timestamptz[])
      AS s(id, "seenAt", "acknowledgedAt", "archivedAt", "snoozedUntil", "updatedAt")
    JOIN "Notification" n ON n.id = s.id
    ON CONFLICT ("userId", "notificationId") DO UPDATE
      SET "seenAt" = EXCLUDED."seenAt", "acknowledgedAt" = EXCLUDED."acknowledgedAt",
        "archivedAt" = EXCLUDED."archivedAt", "snoozedUntil" = EXCLUDED."snoozedUntil",
        "updatedAt" = EXCLUDED."updatedAt", "requireAck" = EXCLUDED."requireAck"`;
}

/** The shared record inside a user's view, without the user's own state. */
export function recordOf(view: NotificationView): NotificationRecord {
  const {
    seenAt: _seenAt,
    acknowledgedAt: _acknowledgedAt,
    archivedAt: _archivedAt,
    snoozedUntil: _snoozedUntil,
    updatedAt: _updatedAt,
    ...record
  } = view;
  return record;
}
