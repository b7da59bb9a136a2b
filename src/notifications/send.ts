import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Database, Pool } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { Category } from '../generated/prisma/client.js';
import type { Catalog } from './catalog.js';
import { createGroupCommit } from '../db/group-commit.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import {
  scheduledSend,
  scheduleTime,
  storeOrSchedule,
  type DatedSend,
  type StoredOrScheduled,
} from './scheduled.js';
import {
  createdStreamEvents,
  statementWeight,
  type IdempotentResult,
  type Stored,
} from './send-statement.js';
import { renderStoredTemplate } from './templates.js';
import { checkTopic } from './topics.js';
import { PUBLIC_STREAM, userStream, type NotificationRecord } from './types.js';
import { LIMITS, badInput, checkData, checkLink, checkText, checkTitle } from './validation.js';

// Step 1 of the process: a service sends. Categorise, date, persist, then publish. Sends that
// arrive together are stored together (group commit, one statement and one commit), and a
// batch (sendNotifications) is stored whole by one statement before any of it is answered.

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
  /** Folds each recipient's newest earlier one of this category and key (private only). */
  groupKey?: string | null;
  /** The third audience: the topic's members when the send is stored (see topics.ts). */
  topic?: string | null;
  /** Delivered then rather than now (scheduled.ts). */
  sendAt?: Date | null;
}

export interface SendResult {
  notification: NotificationRecord;
  recipientCount: number;
  /** True when an earlier send with the same idempotency key is being returned. */
  deduplicated: boolean;
  /** When it will be delivered, if it was scheduled; null: stored and delivered now. */
  scheduledFor: Date | null;
}

export interface SendDeps extends PublishDeps {
  database: Database;
  pool: Pool;
  catalog: Pick<Catalog, 'category' | 'template'>;
  config: Pick<
    Config,
    'DEFAULT_DELETE_AFTER_SECONDS' | 'MAX_SENDS_PER_BATCH' | 'DATABASE_POOL_SIZE'
  >;
}

export interface Sender {
  send(sender: string, input: SendInput): Promise<SendResult>;
  /** Stores every input (or, when one is refused, none) before answering, in order. */
  sendMany(sender: string, inputs: SendInput[]): Promise<SendResult[]>;
}

/** What the group commit answers for a send: stored now, a repeat of a key, or neither. */
type Outcome = (StoredOrScheduled & { deduplicated: boolean }) | undefined;

export function createSender(deps: SendDeps): Sender {
  const commits = createGroupCommit<DatedSend, Outcome>({
    // Published once per statement, in as few bus messages as the group's events fit.
    store: async (sends) => {
      const outcomes = await storeGroup(deps.pool, sends);
      await publishCommitted(deps, createdEvents(outcomes));
      return outcomes;
    },
    maxItems: deps.config.MAX_SENDS_PER_BATCH,
    // A statement carries at most one large send's worth of receipts and events; a topic send
    // (up to TOPIC_MAX_MEMBERS members) weighs a whole statement, so it is stored alone.
    weight: statementWeight,
    maxWeight: LIMITS.recipients,
    // Half the pool: Prisma's reads and the other writes keep the rest.
    concurrency: Math.max(1, Math.floor(deps.config.DATABASE_POOL_SIZE / 2)),
  });

  const sendAll = async (sender: string, inputs: SendInput[], where: (index: number) => string) => {
    const prepared = await Promise.all(
      inputs.map((input, index) =>
        prepare(deps, sender, input).catch((error: unknown) => {
          if (!(error instanceof DomainError)) throw error;
          throw new DomainError(error.code, `${where(index)}${error.message}`);
        }),
      ),
    );
    const outcomes = await commits.submit(prepared).catch((error: unknown) => {
      throw unknownCategoryOr(error);
    });
    return Promise.all(
      outcomes.map((outcome, index): Promise<SendResult> | SendResult => {
        const { recipients, idempotencyKey, topic } = prepared[index]!;
        if (!outcome) return earlierResult(deps.database, sender, idempotencyKey!);
        const { notification, deduplicated, events, scheduledFor } = outcome;
        // A topic's members are those the statement found, one event each (for a scheduled
        // send, those at its delivery: none yet).
        const recipientCount = topic == null ? recipients.length : events.length;
        return { notification, recipientCount, deduplicated, scheduledFor };
      }),
    );
  };

  return {
    send: async (sender, input) => (await sendAll(sender, [input], () => ''))[0]!,
    sendMany(sender, inputs) {
      if (inputs.length === 0) badInput('inputs must not be empty');
      if (inputs.length > deps.config.MAX_SENDS_PER_BATCH) {
        badInput(`at most ${deps.config.MAX_SENDS_PER_BATCH} sends per batch`);
      }
      // A batch is one statement: one topic's members at most.
      if (inputs.filter((input) => input.topic != null).length > 1) {
        badInput('at most one topic send per batch');
      }
      return sendAll(sender, inputs, (index) => `inputs[${index}]: `);
    },
  };
}

/**
 * Stores a group in one statement (scheduled ones in the same commit). A (sender, key) repeated within the group is stored once:
 * the later ones answer the first's notification as deduplicated, as they would a moment later.
 */
async function storeGroup(pool: Pool, sends: DatedSend[]): Promise<Outcome[]> {
  const firstWithKey = new Map<string, number>();
  const repeats = sends.map((send, index) => {
    if (send.idempotencyKey === null) return undefined;
    const key = JSON.stringify([send.sender, send.idempotencyKey]);
    const first = firstWithKey.get(key);
    if (first === undefined) firstWithKey.set(key, index);
    return first;
  });
  const distinct = sends.filter((_send, index) => repeats[index] === undefined);
  const stored = await storeOrSchedule(pool, distinct);
  const byId = new Map(distinct.map((send, index) => [send.id, stored[index]]));
  return sends.map((send, index) => {
    const first = repeats[index];
    if (first === undefined) {
      const own = byId.get(send.id);
      return own && { ...own, deduplicated: false };
    }
    const original = byId.get(sends[first]!.id);
    return original && { ...original, events: [], deduplicated: true };
  });
}

/** The CREATED events of what a statement stored, in the log's order (none of scheduled ones). */
const createdEvents = (outcomes: Outcome[]) =>
  createdStreamEvents(outcomes.filter((outcome) => outcome && !outcome.deduplicated) as Stored[]);

/**
 * A category removed since this instance cached it fails the insert on its foreign key; the
 * send is refused as if the category had been missing when read.
 */
function unknownCategoryOr(error: unknown): unknown {
  const { code, constraint } = error as { code?: string; constraint?: string };
  if (code === '23503' && constraint?.endsWith('_categoryName_fkey')) {
    return new DomainError('UNKNOWN_CATEGORY', 'the category no longer exists');
  }
  return error;
}

/** Validates, renders and dates one send: everything but storing it. */
async function prepare(deps: SendDeps, sender: string, input: SendInput): Promise<DatedSend> {
  const audience = audienceOf(input);
  const content = await contentOf(deps.catalog, input);
  const category = await deps.catalog.category(input.category);
  if (!category) throw new DomainError('UNKNOWN_CATEGORY', `no category "${input.category}"`);
  const sendAt = scheduleTime(input.sendAt, Date.now());
  const dates = datesFor(category, input, deps.config.DEFAULT_DELETE_AFTER_SECONDS, sendAt);
  checkText('idempotencyKey', input.idempotencyKey, LIMITS.idempotencyKeyLength);
  const isPublic = audience === 'public';
  const topic = Array.isArray(audience) || isPublic ? null : audience.topic;
  // A fold locks its recipients' inboxes before the statement: a topic's are known only in it.
  if (topic !== null && input.groupKey != null) badInput('groupKey is not for topic sends');
  checkGroupKey(input.groupKey, isPublic);
  const recipients = Array.isArray(audience) ? audience : [];
  return {
    id: randomUUID(),
    sender,
    idempotencyKey: input.idempotencyKey ?? null,
    groupKey: input.groupKey ?? null,
    category: category.name,
    priority: category.priority,
    requireAck: category.requireAck,
    batchWindowSeconds: category.batchWindowSeconds,
    public: isPublic,
    ...content,
    data: input.data == null ? null : JSON.stringify(input.data),
    ...dates,
    recipients,
    streams: isPublic ? [PUBLIC_STREAM] : recipients.map(userStream),
    topic,
    sendAt,
  };
}

/** Exactly one of: a list of users (deduplicated), 'public', or a topic (see topics.ts). */
function audienceOf(input: SendInput): string[] | 'public' | { topic: string } {
  const given = [input.recipientIds != null, Boolean(input.public), input.topic != null];
  if (given.filter(Boolean).length !== 1) {
    badInput('give exactly one of recipientIds, public or topic');
  }
  if (input.public) return 'public';
  if (input.topic != null) return { topic: checkTopic(input.topic) };
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

async function contentOf(catalog: Pick<Catalog, 'template'>, input: SendInput) {
  if (input.template != null && (input.title != null || input.body != null)) {
    badInput('give either a template or title/body, not both');
  }
  const text = input.template
    ? await renderStoredTemplate(catalog, input.template, input.variables)
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

/**
 * A group key names a thread of one user's inbox. Public notifications are not grouped: folding
 * one would take an earlier one out of everyone's inbox, which the public tallies do not follow.
 */
function checkGroupKey(groupKey: string | null | undefined, isPublic: boolean) {
  if (groupKey == null) return;
  if (isPublic) badInput('groupKey is for private sends: public notifications are not grouped');
  if (groupKey.length === 0 || groupKey.length > LIMITS.groupKeyLength) {
    badInput(`groupKey must be 1-${LIMITS.groupKeyLength} characters`);
  }
}

/**
 * Expiry and deletion from the category unless the send overrides them, counted from when it is
 * delivered: now, or `sendAt` when scheduled.
 */
function datesFor(
  category: Category,
  input: SendInput,
  defaultDeleteAfterSeconds: number,
  sendAt: Date | null,
) {
  const now = sendAt?.getTime() ?? Date.now();
  const future = sendAt ? 'after sendAt' : 'in the future';
  const after = (seconds: number) => new Date(now + seconds * 1000);
  const expiresAt =
    input.expiresAt ?? (category.expireAfterSeconds ? after(category.expireAfterSeconds) : null);
  if (expiresAt && expiresAt.getTime() <= now) badInput(`expiresAt must be ${future}`);
  if (input.deleteAt && input.deleteAt.getTime() <= now) badInput(`deleteAt must be ${future}`);
  if (input.deleteAt && expiresAt && input.deleteAt < expiresAt) {
    badInput('deleteAt must not be before expiresAt');
  }
  const derivedDeleteAt = after(category.deleteAfterSeconds ?? defaultDeleteAfterSeconds);
  // A notification is never deleted while it is still meant to be shown.
  const deleteAt =
    input.deleteAt ?? (expiresAt && expiresAt > derivedDeleteAt ? expiresAt : derivedDeleteAt);
  return { expiresAt, deleteAt };
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
  const { notificationId, recipientCount } = earlier.result as unknown as IdempotentResult;
  const notification = await database.notification.findUnique({ where: { id: notificationId } });
  if (notification) return { notification, recipientCount, deduplicated: true, scheduledFor: null };
  const scheduled = await scheduledSend(database, notificationId);
  if (scheduled) return { ...scheduled, recipientCount, deduplicated: true };
  throw new DomainError('NOT_FOUND', 'the earlier send was deleted or cancelled since');
}
