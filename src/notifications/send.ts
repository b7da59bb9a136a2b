import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import { randomUUID } from 'node:crypto';
import { Prisma, type Category } from '../generated/prisma/client.js';
import { appendEventsSql, toStreamEvents, type AppendedRow } from './event-log.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import { renderStoredTemplate } from './templates.js';
import { PUBLIC_STREAM, userStream, type NotificationRecord } from './types.js';
import { LIMITS, badInput, checkData, checkLink, checkText, checkTitle } from './validation.js';

// Step 1 of the process: a service sends. Categorise, date, persist, then publish.

export interface SendInput {
  category: string;
  recipientIds?: string[] | null;
  public?: boolean | null;
  title?: string | null;
  body?: string | null;
  data?: unknown;
  icon?: string | null;
  actionUrl?: string | null;
  template?: string | null;
  variables?: unknown;
  expiresAt?: Date | null;
  deleteAt?: Date | null;
  idempotencyKey?: string | null;
}

export interface SendResult {
  notification: NotificationRecord;
  recipientCount: number;
  /** True when an earlier send with the same idempotency key is being returned. */
  deduplicated: boolean;
}

export interface SendDeps extends PublishDeps {
  database: Database;
  config: Pick<Config, 'DEFAULT_DELETE_AFTER_SECONDS'>;
}

/** How long a repeated idempotency key returns the first result (a PostgreSQL interval). */
export const IDEMPOTENCY_WINDOW = '24 hours';

export async function sendNotification(
  deps: SendDeps,
  sender: string,
  input: SendInput,
): Promise<SendResult> {
  const recipients = audienceOf(input);
  const content = await contentOf(deps.database, input);
  const category = await deps.database.category.findUnique({ where: { name: input.category } });
  if (!category) throw new DomainError('UNKNOWN_CATEGORY', `no category "${input.category}"`);
  const dates = datesFor(category, input, deps.config.DEFAULT_DELETE_AFTER_SECONDS);
  checkText('idempotencyKey', input.idempotencyKey, LIMITS.idempotencyKeyLength);

  const id = randomUUID();
  const recipientCount = recipients === 'public' ? 0 : recipients.length;
  const streams = recipients === 'public' ? [PUBLIC_STREAM] : recipients.map(userStream);
  const key = input.idempotencyKey ?? null;
  const storedResult: StoredResult = { notificationId: id, recipientCount };
  // One statement, so one round trip: claim the idempotency key, store the notification, its
  // receipts and its events. When the key was used within the window, nothing is written.
  const [row] = await deps.database.$queryRaw<(NotificationRecord & { events: AppendedRow[] })[]>`
    WITH claim AS (
      INSERT INTO "IdempotencyKey" (service, key, result)
      SELECT ${sender}, ${key}::text, ${JSON.stringify(storedResult)}::jsonb WHERE ${key}::text IS NOT NULL
      ON CONFLICT (service, key) DO UPDATE SET result = EXCLUDED.result, "createdAt" = now()
        WHERE "IdempotencyKey"."createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval
      RETURNING 1),
    go AS (SELECT WHERE ${key}::text IS NULL OR EXISTS (SELECT FROM claim)),
    notification AS (
      INSERT INTO "Notification" (id, "categoryName", priority, "requireAck",
        "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "expiresAt", "deleteAt")
      SELECT ${id}::uuid, ${category.name}, ${category.priority}::"NotificationPriority",
        ${category.requireAck}, ${category.batchWindowSeconds}::int, ${recipients === 'public'},
        ${sender}, ${content.title},
        ${content.body}, ${input.data == null ? null : JSON.stringify(input.data)}::jsonb,
        ${content.icon}, ${content.actionUrl}, ${content.templateKey},
        ${dates.expiresAt}::timestamptz, ${dates.deleteAt}::timestamptz
      FROM go
      RETURNING *),
    receipts AS (
      INSERT INTO "Receipt" ("notificationId", "userId", "requireAck")
      SELECT ${id}::uuid, recipient, ${category.requireAck} FROM go, unnest(${recipients === 'public' ? [] : recipients}::text[]) recipient),
    ${appendEventsSql(Prisma.sql`
      SELECT stream, 'CREATED'::"NotificationEventType" AS type, ${id}::uuid AS "notificationId",
        NULL::jsonb AS tombstone, ord
      FROM go, unnest(${streams}::text[]) WITH ORDINALITY AS s(stream, ord)`)}
    SELECT n.*, (SELECT coalesce(json_agg(events), '[]') FROM events) AS events FROM notification n`;

  if (!row) return earlierResult(deps.database, sender, key!);
  const { events: appended, ...notification } = row;
  const drafts = streams.map((stream) => ({ stream, type: 'CREATED' as const, notification }));
  await publishCommitted(deps, toStreamEvents(drafts, appended));
  return { notification, recipientCount, deduplicated: false };
}

/** Either a list of users (deduplicated) or 'public'; never both, never neither. */
function audienceOf(input: SendInput): string[] | 'public' {
  const hasRecipients = input.recipientIds != null;
  if (hasRecipients === Boolean(input.public)) {
    badInput('give either recipientIds or public: true');
  }
  if (input.public) return 'public';
  const recipients = [...new Set(input.recipientIds)];
  if (recipients.length === 0) badInput('recipientIds must not be empty');
  if (recipients.length > LIMITS.recipients) {
    badInput(`at most ${LIMITS.recipients} recipients per send`);
  }
  if (recipients.some((id) => id.length === 0 || id.length > LIMITS.userIdLength)) {
    badInput(`each recipient id must be 1-${LIMITS.userIdLength} characters`);
  }
  return recipients.sort();
}

async function contentOf(database: Database, input: SendInput) {
  if (input.template != null && (input.title != null || input.body != null)) {
    badInput('give either a template or title/body, not both');
  }
  const text = input.template
    ? await renderStoredTemplate(database, input.template, input.variables)
    : {
        title: input.title ?? badInput('title is required without a template'),
        body: input.body ?? null,
      };
  checkTitle(text.title);
  checkText('body', text.body, LIMITS.bodyLength);
  checkData(input.data);
  checkLink('icon', input.icon);
  checkLink('actionUrl', input.actionUrl);
  return {
    ...text,
    icon: input.icon ?? null,
    actionUrl: input.actionUrl ?? null,
    templateKey: input.template ?? null,
  };
}

/** Expiry and deletion from the category unless the send overrides them. */
function datesFor(category: Category, input: SendInput, defaultDeleteAfterSeconds: number) {
  const now = Date.now();
  const after = (seconds: number) => new Date(now + seconds * 1000);
  const expiresAt =
    input.expiresAt ?? (category.expireAfterSeconds ? after(category.expireAfterSeconds) : null);
  if (expiresAt && expiresAt.getTime() <= now) badInput('expiresAt must be in the future');
  if (input.deleteAt && input.deleteAt.getTime() <= now) badInput('deleteAt must be in the future');
  if (input.deleteAt && expiresAt && input.deleteAt < expiresAt) {
    badInput('deleteAt must not be before expiresAt');
  }
  const derivedDeleteAt = after(category.deleteAfterSeconds ?? defaultDeleteAfterSeconds);
  // A notification is never deleted while it is still meant to be shown.
  const deleteAt =
    input.deleteAt ?? (expiresAt && expiresAt > derivedDeleteAt ? expiresAt : derivedDeleteAt);
  return { expiresAt, deleteAt };
}

interface StoredResult {
  notificationId: string;
  recipientCount: number;
}

/** The result of the earlier send with this key (committed: the claim waited for it). */
async function earlierResult(
  database: Database,
  service: string,
  key: string,
): Promise<SendResult> {
  const earlier = await database.idempotencyKey.findUniqueOrThrow({
    where: { service_key: { service, key } },
  });
  const { notificationId, recipientCount } = earlier.result as unknown as StoredResult;
  const notification = await database.notification.findUnique({ where: { id: notificationId } });
  if (!notification) throw new DomainError('NOT_FOUND', 'the earlier send was deleted since');
  return { notification, recipientCount, deduplicated: true };
}
