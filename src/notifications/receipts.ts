import type { Database, Queryable } from '../db/client.js';
import { DomainError } from '../errors.js';
import { appendEvents } from './event-log.js';
import { visibleByIds } from './inbox.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { userStream, type NotificationView, type ReceiptTimes } from './types.js';
import { checkIds, isNotificationId } from './validation.js';
import { holdPublicSendsSql, markAllSeenSql, newestCoveredSql } from './visibility.js';

// Steps 3 and 4 of the process: a user sees a notification, and acknowledges it. Each change
// is one transaction that holds the notifications against deletion (so a receipt never points
// at a deleted one: NOT_FOUND instead) and runs alone among the user's own changes (so every
// event moves a live count by exactly what it says).

type Deps = PublishDeps & { database: Database };

/** One user's receipt changes, one at a time: an event is judged against the state it changed. */
const lockInbox = (tx: Queryable, userId: string) =>
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

/** Marks the notifications seen (all or none); only ones not seen before make a SEEN event. */
export async function markSeen(
  deps: Deps,
  userId: string,
  ids: string[],
): Promise<NotificationView[]> {
  checkIds(ids);
  const { views, events } = await deps.database.$transaction(async (tx) => {
    await lockInbox(tx, userId);
    const views = await requireVisible(tx, userId, ids);
    const unseen = [...views.values()].filter((view) => view.seenAt === null);
    if (unseen.length === 0) return { views, events: [] };
    const newlySeen = await tx.$queryRaw<(ReceiptTimes & { notificationId: string })[]>`
      INSERT INTO "Receipt" ("notificationId", "userId", "seenAt", "requireAck", public)
      SELECT id, ${userId}, now(), "requireAck", public FROM "Notification"
        WHERE id = ANY(${unseen.map((view) => view.id)}::uuid[])
      ON CONFLICT ("userId", "notificationId") DO UPDATE
        SET "seenAt" = EXCLUDED."seenAt", "requireAck" = EXCLUDED."requireAck"
        WHERE "Receipt"."seenAt" IS NULL
      RETURNING "notificationId", "seenAt", "acknowledgedAt"`;
    const events = await appendEvents(
      tx,
      newlySeen.map((receipt) => {
        const view = views.get(receipt.notificationId)!;
        Object.assign(view, { seenAt: receipt.seenAt, acknowledgedAt: receipt.acknowledgedAt });
        return { stream: userStream(userId), type: 'SEEN', notification: stored(view), receipt };
      }),
    );
    return { views, events };
  });
  await publishCommitted(deps, events);
  return ids.map((id) => views.get(id)!);
}

/**
 * Marks everything the user has not seen yet as seen, at once: their public position moves to
 * the newest public notification, their unseen private receipts are updated in one statement,
 * and one ALL_SEEN event tells their subscribers. Returns how many it marked.
 */
export async function markAllSeen(deps: Deps, userId: string): Promise<number> {
  const { marked, events } = await deps.database.$transaction(async (tx) => {
    await lockInbox(tx, userId);
    await tx.$queryRaw`${holdPublicSendsSql()}`;
    const [result] = await tx.$queryRaw<{ marked: bigint; newestSeq: bigint | null }[]>`
      ${markAllSeenSql(userId)}`;
    const marked = Number(result!.marked);
    if (marked === 0 || result!.newestSeq === null) return { marked, events: [] };
    const [newest] = await tx.$queryRaw<NotificationView[]>`
      ${newestCoveredSql(userId, result!.newestSeq)}`;
    if (!newest) return { marked, events: [] };
    const events = await appendEvents(tx, [
      {
        stream: userStream(userId),
        type: 'ALL_SEEN',
        notification: stored(newest),
        receipt: { seenAt: newest.seenAt, acknowledgedAt: newest.acknowledgedAt },
      },
    ]);
    return { marked, events };
  });
  await publishCommitted(deps, events);
  return marked;
}

/** Acknowledges a require-ack notification (seeing it too); repeating it changes nothing. */
export async function acknowledge(
  deps: Deps,
  userId: string,
  id: string,
): Promise<NotificationView> {
  const { view, events } = await deps.database.$transaction(async (tx) => {
    await lockInbox(tx, userId);
    const view = (await requireVisible(tx, userId, [id])).get(id)!;
    if (!view.requireAck) {
      throw new DomainError('BAD_USER_INPUT', 'this notification does not ask to be acknowledged');
    }
    if (view.acknowledgedAt) return { view, events: [] };
    const [receipt] = await tx.$queryRaw<ReceiptTimes[]>`
      INSERT INTO "Receipt"
        ("notificationId", "userId", "seenAt", "acknowledgedAt", "requireAck", public)
      VALUES (${id}::uuid, ${userId}, COALESCE(${view.seenAt}::timestamptz, now()), now(), true,
        ${view.public})
      ON CONFLICT ("userId", "notificationId") DO UPDATE
        SET "acknowledgedAt" = EXCLUDED."acknowledgedAt", "requireAck" = true,
            "seenAt" = COALESCE("Receipt"."seenAt", EXCLUDED."seenAt")
        WHERE "Receipt"."acknowledgedAt" IS NULL
      RETURNING "seenAt", "acknowledgedAt"`;
    if (!receipt) return { view, events: [] };
    Object.assign(view, receipt);
    const events = await appendEvents(tx, [
      { stream: userStream(userId), type: 'ACKNOWLEDGED', notification: stored(view), receipt },
    ]);
    return { view, events };
  });
  await publishCommitted(deps, events);
  return view;
}

/** The shared record inside a user's view, without the user's receipt fields. */
function stored(view: NotificationView) {
  const { seenAt: _seenAt, acknowledgedAt: _acknowledgedAt, ...record } = view;
  return record;
}
