import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { Category, Prisma } from '../generated/prisma/client.js';
import { appendEvents, type EventDraft } from './event-log.js';
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

  const outcome = await deps.database.$transaction(
    async (tx) => {
      if (input.idempotencyKey) {
        const earlier = await claimIdempotencyKey(tx, sender, input.idempotencyKey);
        if (earlier) return { earlier };
      }
      const notification = await tx.notification.create({
        data: {
          categoryName: category.name,
          priority: category.priority,
          requireAck: category.requireAck,
          public: recipients === 'public',
          sender,
          ...content,
          data: (input.data ?? undefined) as Prisma.InputJsonValue | undefined,
          ...dates,
        },
      });
      const streams = recipients === 'public' ? [PUBLIC_STREAM] : recipients.map(userStream);
      if (recipients !== 'public') {
        await tx.receipt.createMany({
          data: recipients.map((userId) => ({ notificationId: notification.id, userId })),
        });
      }
      const events = await appendEvents(
        tx,
        streams.map((stream): EventDraft => ({ stream, type: 'CREATED', notification })),
      );
      const recipientCount = recipients === 'public' ? 0 : recipients.length;
      if (input.idempotencyKey) {
        await tx.idempotencyKey.update({
          where: { service_key: { service: sender, key: input.idempotencyKey } },
          data: { result: { notificationId: notification.id, recipientCount } },
        });
      }
      return { sent: { notification, recipientCount, deduplicated: false }, events };
    },
    { timeout: 30_000 },
  );

  if ('earlier' in outcome) return earlierResult(deps.database, outcome.earlier!);
  await publishCommitted(deps, outcome.events);
  return outcome.sent;
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

/**
 * Claims (service, key) for this transaction. Returns the earlier result when the key was used
 * within the window; a concurrent send with the same key waits here until the first commits.
 */
async function claimIdempotencyKey(
  tx: Prisma.TransactionClient,
  service: string,
  key: string,
): Promise<StoredResult | null> {
  const claimed = await tx.$queryRaw<unknown[]>`
    INSERT INTO "IdempotencyKey" (service, key, result) VALUES (${service}, ${key}, '{}'::jsonb)
    ON CONFLICT (service, key) DO UPDATE SET result = '{}'::jsonb, "createdAt" = now()
      WHERE "IdempotencyKey"."createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval
    RETURNING service`;
  if (claimed.length > 0) return null;
  const earlier = await tx.idempotencyKey.findUniqueOrThrow({
    where: { service_key: { service, key } },
  });
  return earlier.result as unknown as StoredResult;
}

async function earlierResult(database: Database, earlier: StoredResult): Promise<SendResult> {
  const notification = await database.notification.findUnique({
    where: { id: earlier.notificationId },
  });
  if (!notification) throw new DomainError('NOT_FOUND', 'the earlier send was deleted since');
  return { notification, recipientCount: earlier.recipientCount, deduplicated: true };
}
