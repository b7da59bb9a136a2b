import type { Viewer } from '../auth/viewer.js';
import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { sentNotification } from './delivery-status.js';
import { appendEventsSql, toStreamEvents, type AppendedRow } from './event-log.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { deleteNotificationNow, type RetentionDeps } from './retention.js';
import { PUBLIC_STREAM, isExpired, userStream, type NotificationRecord } from './types.js';
import { LIMITS, badInput, checkData, checkLink, checkText, checkTitle } from './validation.js';

// A sender changes or takes back what it sent. Only the service that sent a notification (or an
// admin) may; to anyone else it does not exist, so a service learns nothing of another's.
// An update is logged as UPDATED on every stream the notification is on, in the statement that
// changes it, and changes no count (nothing that decides counting can change). A recall is the
// deletion support and the retention job do: every recipient's devices get DELETED.

/**
 * The content to change: a field left out stays as it is; null removes it (all but title).
 */
export interface NotificationUpdate {
  title?: string | null;
  body?: string | null;
  data?: unknown;
  icon?: string | null;
  actionUrl?: string | null;
}

const FIELDS = ['title', 'body', 'data', 'icon', 'actionUrl'] as const;

/** Checks an update by the rules and limits of a send; BAD_USER_INPUT naming the field. */
export function checkUpdate(update: NotificationUpdate) {
  if (FIELDS.every((field) => update[field] === undefined)) {
    badInput('give at least one of title, body, data, icon or actionUrl');
  }
  if (update.title === null) badInput('title cannot be removed');
  if (update.title !== undefined) checkTitle(update.title);
  checkText('body', update.body, LIMITS.bodyLength);
  checkData(update.data);
  checkLink('icon', update.icon);
  checkLink('actionUrl', update.actionUrl);
}

const notFound = (id: string) => new DomainError('NOT_FOUND', `no notification ${id}`);
const expired = (id: string) =>
  new DomainError(
    'NOTIFICATION_EXPIRED',
    `notification ${id} has expired: it is no longer shown, so it cannot be updated (recall it instead)`,
  );

/**
 * The notification, if `viewer` sent it or is an admin (as for notificationStatus) and it is not
 * being deleted; else NOT_FOUND.
 */
async function editable(database: Database, viewer: Viewer, id: string) {
  const notification = await sentNotification(database, viewer, id);
  if (notification.deleteAt <= new Date()) throw notFound(id);
  return notification;
}

/** A grouped one's UPDATED keeps how many it stands for in that user's inbox (see Fold). */
const groupCountState = Prisma.sql`CASE WHEN r."groupCount" > 1 THEN jsonb_build_object('fold',
  jsonb_build_object('groupCount', r."groupCount", 'replaces', NULL, 'replacedCounted', false,
    'replacedExpiresAt', NULL)) END`;

/**
 * Changes a notification's content and appends UPDATED, carrying it, to each recipient's stream
 * (private) or the public stream, in one statement; publishes once committed. An expired
 * notification is refused (NOTIFICATION_EXPIRED): it is no longer shown, so nobody would see
 * the change.
 */
export async function updateNotification(
  deps: PublishDeps & { database: Database },
  viewer: Viewer,
  id: string,
  update: NotificationUpdate,
): Promise<NotificationRecord> {
  checkUpdate(update);
  const found = await editable(deps.database, viewer, id);
  if (isExpired(found)) throw expired(id);
  const given = (field: (typeof FIELDS)[number]) => update[field] !== undefined;
  // Checked by editable (a service its own, an admin any), and again as the row is changed.
  const sender = viewer.kind === 'service' ? viewer.service : null;
  const data = update.data == null ? null : JSON.stringify(update.data);
  const { changed, events } = await deps.database.$transaction(async (tx) => {
    // The public stream's head before the row (the tally triggers take it), in the order the
    // deletion takes them, so that neither holds what the other waits for.
    if (found.public) await tx.$executeRaw`SELECT public_tally_lock()`;
    const [row] = await tx.$queryRaw<(NotificationRecord & { events: AppendedRow[] })[]>`
      WITH changed AS (
        UPDATE "Notification" SET
          title = CASE WHEN ${given('title')}::boolean THEN ${update.title ?? null}::text ELSE title END,
          body = CASE WHEN ${given('body')}::boolean THEN ${update.body ?? null}::text ELSE body END,
          data = CASE WHEN ${given('data')}::boolean THEN ${data}::jsonb ELSE data END,
          icon = CASE WHEN ${given('icon')}::boolean THEN ${update.icon ?? null}::text ELSE icon END,
          "actionUrl" = CASE WHEN ${given('actionUrl')}::boolean THEN ${update.actionUrl ?? null}::text
                        ELSE "actionUrl" END,
          "editedAt" = now()
        WHERE id = ${id}::uuid AND (${sender}::text IS NULL OR sender = ${sender}::text)
          AND "deleteAt" > now() AND ("expiresAt" IS NULL OR "expiresAt" > now())
        RETURNING *),
      ${appendEventsSql(Prisma.sql`
        SELECT ${PUBLIC_STREAM}::text AS stream, 'UPDATED'::"NotificationEventType" AS type,
               c.id AS "notificationId", NULL::jsonb AS tombstone, NULL::jsonb AS state,
               0::bigint AS ord
        FROM changed c WHERE c.public
        UNION ALL
        SELECT ${userStream('')} || r."userId", 'UPDATED'::"NotificationEventType", c.id,
               NULL::jsonb, ${groupCountState}, row_number() OVER (ORDER BY r."userId")
        FROM changed c JOIN "Receipt" r ON r."notificationId" = c.id
        WHERE NOT c.public`)}
      SELECT c.*, COALESCE((SELECT json_agg(events) FROM events), '[]') AS events
      FROM changed c`;
    if (!row) return { changed: undefined, events: [] };
    const { events: rows, ...notification } = row;
    const drafts = rows.map((appended) => ({
      stream: appended.stream,
      type: 'UPDATED' as const,
      notification,
    }));
    return { changed: notification, events: toStreamEvents(drafts, rows) };
  });
  if (!changed) {
    // Changed since it was read: deleted (NOT_FOUND) or expired.
    const now = await editable(deps.database, viewer, id);
    throw isExpired(now) ? expired(id) : notFound(id);
  }
  await publishCommitted(deps, events);
  return changed;
}

/**
 * Deletes a notification for everyone now, as support's deleteNotification and the retention job
 * do (deleteNotificationNow): every recipient's devices get DELETED and their counts drop.
 */
export async function recallNotification(deps: RetentionDeps, viewer: Viewer, id: string) {
  await editable(deps.database, viewer, id);
  if (!(await deleteNotificationNow(deps, id))) throw notFound(id);
}
