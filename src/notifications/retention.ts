import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { appendEvents, pruneEventsBefore, type EventDraft } from './event-log.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { IDEMPOTENCY_WINDOW } from './send.js';
import { PUBLIC_STREAM, userStream, type NotificationRecord } from './types.js';

// Step 6 of the process: deletion time comes. Due notifications go with every row that refers
// to them; each audience gets a DELETED event so open inboxes drop them.

export interface RetentionDeps extends PublishDeps {
  database: Database;
  config: Pick<Config, 'EVENT_LOG_RETENTION_SECONDS'>;
}

const BATCH = 500;

/** Deletes every notification whose deleteAt has passed; returns how many. */
export async function deleteDueNotifications(deps: RetentionDeps): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { count, events } = await deps.database.$transaction(async (tx) => {
      // SKIP LOCKED: instances that run this at once share the work instead of waiting.
      const due = await tx.$queryRaw<NotificationRecord[]>`
        SELECT * FROM "Notification" WHERE "deleteAt" <= now()
        ORDER BY "deleteAt" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
      if (due.length === 0) return { count: 0, events: [] };
      const ids = due.map((notification) => notification.id);
      const recipients = await tx.receipt.findMany({
        where: { notificationId: { in: ids }, notification: { public: false } },
        select: { notificationId: true, userId: true },
      });
      const byId = new Map(due.map((notification) => [notification.id, notification]));
      const drafts: EventDraft[] = [
        ...due
          .filter((notification) => notification.public)
          .map((notification) => ({ stream: PUBLIC_STREAM, notification })),
        ...recipients.map(({ notificationId, userId }) => ({
          stream: userStream(userId),
          notification: byId.get(notificationId)!,
        })),
      ].map((draft) => ({ ...draft, type: 'DELETED', tombstone: true }));
      await tx.event.deleteMany({ where: { notificationId: { in: ids } } });
      const events = await appendEvents(tx, drafts);
      await tx.notification.deleteMany({ where: { id: { in: ids } } });
      return { count: due.length, events };
    });
    await publishCommitted(deps, events);
    deleted += count;
    if (count < BATCH) return deleted;
  }
}

/** Forgets what is only kept for a while: old log entries and expired idempotency keys. */
export async function pruneLogs(deps: RetentionDeps) {
  const cutoff = new Date(Date.now() - deps.config.EVENT_LOG_RETENTION_SECONDS * 1000);
  const events = await pruneEventsBefore(deps.database, cutoff);
  const keys = await deps.database.$executeRaw`
    DELETE FROM "IdempotencyKey" WHERE "createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval`;
  return { events, idempotencyKeys: keys };
}
