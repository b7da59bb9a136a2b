import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import { appendEvents } from './event-log.js';
import { visibleByIds } from './inbox.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { userStream, type NotificationView, type ReceiptTimes } from './types.js';
import { checkIds, isNotificationId } from './validation.js';

// Steps 3 and 4 of the process: a user sees a notification, and acknowledges it.

type Deps = PublishDeps & { database: Database };

/** All of `ids` as the user sees them, or NOT_FOUND naming the first that is not theirs. */
async function requireVisible(database: Database, userId: string, ids: string[]) {
  const unique = [...new Set(ids)];
  const malformed = unique.find((id) => !isNotificationId(id));
  if (malformed) throw notFound(malformed);
  const found = new Map(
    (await visibleByIds(database, userId, unique)).map((view) => [view.id, view]),
  );
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
  const views = await requireVisible(deps.database, userId, ids);
  const events = await deps.database.$transaction(async (tx) => {
    const newlySeen = await tx.$queryRaw<(ReceiptTimes & { notificationId: string })[]>`
      INSERT INTO "Receipt" ("notificationId", "userId", "seenAt")
      SELECT unnest(${[...views.keys()]}::uuid[]), ${userId}, now()
      ON CONFLICT ("userId", "notificationId") DO UPDATE SET "seenAt" = EXCLUDED."seenAt"
        WHERE "Receipt"."seenAt" IS NULL
      RETURNING "notificationId", "seenAt", "acknowledgedAt"`;
    return appendEvents(
      tx,
      newlySeen.map((receipt) => {
        const view = views.get(receipt.notificationId)!;
        Object.assign(view, { seenAt: receipt.seenAt, acknowledgedAt: receipt.acknowledgedAt });
        return { stream: userStream(userId), type: 'SEEN', notification: stored(view), receipt };
      }),
    );
  });
  await publishCommitted(deps, events);
  return ids.map((id) => views.get(id)!);
}

/** Marks everything the user has not seen yet as seen; returns how many. */
export async function markAllSeen(deps: Deps, userId: string): Promise<number> {
  const unseen = await deps.database.$queryRaw<{ id: string }[]>`
    SELECT n.id FROM "Receipt" r JOIN "Notification" n ON n.id = r."notificationId"
      WHERE r."userId" = ${userId} AND NOT n.public AND r."seenAt" IS NULL
        AND (n."expiresAt" IS NULL OR n."expiresAt" > now())
    UNION ALL
    SELECT n.id FROM "Notification" n
      LEFT JOIN "Receipt" r ON r."notificationId" = n.id AND r."userId" = ${userId}
      WHERE n.public AND r."seenAt" IS NULL
        AND (n."expiresAt" IS NULL OR n."expiresAt" > now())`;
  let marked = 0;
  for (let start = 0; start < unseen.length; start += 500) {
    const ids = unseen.slice(start, start + 500).map((row) => row.id);
    marked += (await markSeen(deps, userId, ids)).length;
  }
  return marked;
}

/** Acknowledges a require-ack notification (seeing it too); repeating it changes nothing. */
export async function acknowledge(
  deps: Deps,
  userId: string,
  id: string,
): Promise<NotificationView> {
  const view = (await requireVisible(deps.database, userId, [id])).get(id)!;
  if (!view.requireAck) {
    throw new DomainError('BAD_USER_INPUT', 'this notification does not ask to be acknowledged');
  }
  const events = await deps.database.$transaction(async (tx) => {
    const [receipt] = await tx.$queryRaw<ReceiptTimes[]>`
      INSERT INTO "Receipt" ("notificationId", "userId", "seenAt", "acknowledgedAt")
      VALUES (${id}::uuid, ${userId}, now(), now())
      ON CONFLICT ("userId", "notificationId") DO UPDATE
        SET "acknowledgedAt" = EXCLUDED."acknowledgedAt",
            "seenAt" = COALESCE("Receipt"."seenAt", EXCLUDED."seenAt")
        WHERE "Receipt"."acknowledgedAt" IS NULL
      RETURNING "seenAt", "acknowledgedAt"`;
    if (!receipt) return [];
    Object.assign(view, receipt);
    return appendEvents(tx, [
      { stream: userStream(userId), type: 'ACKNOWLEDGED', notification: stored(view), receipt },
    ]);
  });
  await publishCommitted(deps, events);
  return view;
}

/** The shared record inside a user's view, without the user's receipt fields. */
function stored(view: NotificationView) {
  const { seenAt: _seenAt, acknowledgedAt: _acknowledgedAt, ...record } = view;
  return record;
}
