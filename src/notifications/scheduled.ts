import type pg from 'pg';
import type { Viewer } from '../auth/viewer.js';
import { inTransaction, type Database, type Pool } from '../db/client.js';
import { DomainError } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { sentNotification } from './delivery-status.js';
import { publishCommitted, type PublishDeps } from './publish.js';
import {
  claimSql,
  createdStreamEvents,
  idempotentResult,
  statementWeight,
  storeSends,
  storeSendsIn,
  type Stored,
  type StoredSend,
} from './send-statement.js';
import type { NotificationRecord } from './types.js';
import { LIMITS, badInput, isNotificationId } from './validation.js';

// Scheduled sends (SendNotificationInput.sendAt): validated, rendered and dated when asked for,
// kept as one ScheduledSend row (its id the notification's to be), and delivered at sendAt by
// whichever instance's dispatcher (jobs/scheduled-dispatcher.ts) claims it first: stored through
// the one send statement in the transaction that deletes the row, then published. Until then it
// is in no inbox, count, stream or tally: nothing reads ScheduledSend but this module. Its sender
// cancels it by deleting the row; the row's lock decides a cancel racing the delivery.

/** How far ahead a send may be scheduled. */
export const MAX_SCHEDULE_DAYS = 365;

/** A send ready to store, and when: null (or a time already come) is at once. */
export interface DatedSend extends StoredSend {
  sendAt: Date | null;
}

/** What storing a send did: stored now (scheduledFor null) or scheduled for then. */
export type StoredOrScheduled = Stored & { scheduledFor: Date | null };

/**
 * When a send asked for `sendAt` is delivered: null for at once (none given, or not in the
 * future); BAD_USER_INPUT beyond MAX_SCHEDULE_DAYS.
 */
export function scheduleTime(sendAt: Date | null | undefined, now: number): Date | null {
  if (sendAt == null || sendAt.getTime() <= now) return null;
  if (sendAt.getTime() - now > MAX_SCHEDULE_DAYS * 86_400_000) {
    badInput(`sendAt must be within ${MAX_SCHEDULE_DAYS} days`);
  }
  return sendAt;
}

/**
 * Stores the sends due now and schedules the others, all in one commit (a batch is stored whole
 * or not at all); undefined for a send whose idempotency key was claimed before. Sends without
 * sendAt take the send statement's own path.
 */
export async function storeOrSchedule(
  pool: Pool,
  sends: DatedSend[],
): Promise<(StoredOrScheduled | undefined)[]> {
  if (sends.every((send) => send.sendAt === null)) {
    return (await storeSends(pool, sends)).map(
      (stored) => stored && { ...stored, scheduledFor: null },
    );
  }
  const now = sends.filter((send) => send.sendAt === null);
  const later = sends.filter((send) => send.sendAt !== null);
  const [stored, scheduled] = await inTransaction(pool, async (client) => [
    now.length > 0 ? await storeSendsIn(client, now) : [],
    await schedule(client, later),
  ]);
  const byId = new Map<string, StoredOrScheduled | undefined>([
    ...now.map(
      (send, index) =>
        [send.id, stored[index] && { ...stored[index], scheduledFor: null }] as const,
    ),
    ...later.map((send, index) => [send.id, scheduled[index]] as const),
  ]);
  return sends.map((send) => byId.get(send.id));
}

/** Inserts ScheduledSend rows, claiming their idempotency keys as the send statement does. */
async function schedule(client: pg.ClientBase, sends: DatedSend[]) {
  const column = <T>(pick: (send: DatedSend) => T) => sends.map(pick);
  const statement = Prisma.sql`
    WITH items AS (
      SELECT * FROM unnest(
        ${column((s) => s.id)}::uuid[], ${column((s) => s.sender)}::text[],
        ${column((s) => s.idempotencyKey)}::text[], ${column(idempotentResult)}::jsonb[],
        ${column((s) => s.sendAt)}::timestamptz[], ${column((s) => s.category)}::text[],
        ${column(({ sendAt: _sendAt, ...send }) => JSON.stringify(send))}::jsonb[],
        ${column(statementWeight)}::int[]
      ) WITH ORDINALITY AS i(id, sender, key, result, "sendAt", category, send, "streamCount", ord)),
    ${claimSql}
    INSERT INTO "ScheduledSend" (id, sender, "sendAt", "categoryName", send, "streamCount")
    SELECT id, sender, "sendAt", category, send, "streamCount" FROM go ORDER BY ord
    RETURNING id::text`;
  const { rows } = await client.query<{ id: string }>(statement.text, statement.values);
  const claimed = new Set(rows.map((row) => row.id));
  return sends.map((send) =>
    claimed.has(send.id)
      ? { notification: pendingRecord(send, send.sendAt!), events: [], scheduledFor: send.sendAt }
      : undefined,
  );
}

/** The notification a scheduled send will be, as its sender is answered until then. */
function pendingRecord(send: StoredSend, sendAt: Date): NotificationRecord {
  return {
    id: send.id,
    // Given when it is stored; nothing reads it of one not yet stored.
    seq: 0n,
    categoryName: send.category,
    priority: send.priority,
    requireAck: send.requireAck,
    batchWindowSeconds: send.batchWindowSeconds,
    public: send.public,
    title: send.title,
    body: send.body,
    data: send.data === null ? null : (JSON.parse(send.data) as NotificationRecord['data']),
    icon: send.icon,
    actionUrl: send.actionUrl,
    templateKey: send.templateKey,
    groupKey: send.groupKey,
    sender: send.sender,
    createdAt: sendAt,
    editedAt: null,
    expiresAt: send.expiresAt,
    deleteAt: send.deleteAt,
  };
}

interface ScheduledRow {
  id: string;
  sendAt: Date;
  categoryName: string;
  send: Omit<StoredSend, 'expiresAt' | 'deleteAt'> & { expiresAt: string | null; deleteAt: string };
}

/** The send a row holds, as the send statement takes it (its key was claimed when scheduled). */
function sendOf(row: ScheduledRow): StoredSend {
  const { send } = row;
  return {
    ...send,
    id: row.id,
    // A category renamed since (ON UPDATE CASCADE) is the row's.
    category: row.categoryName,
    idempotencyKey: null,
    expiresAt: send.expiresAt === null ? null : new Date(send.expiresAt),
    deleteAt: new Date(send.deleteAt),
  };
}

/** The scheduled send `id` as a repeat of its idempotency key answers it, if it still waits. */
export async function scheduledSend(
  database: Database,
  id: string,
): Promise<{ notification: NotificationRecord; scheduledFor: Date } | undefined> {
  const [row] = await database.$queryRaw<ScheduledRow[]>`
    SELECT id::text, "sendAt", "categoryName", send FROM "ScheduledSend" WHERE id = ${id}::uuid`;
  return row && { notification: pendingRecord(sendOf(row), row.sendAt), scheduledFor: row.sendAt };
}

/**
 * Delivers up to `limit` scheduled sends that are due, earliest first, and at most one send
 * statement's worth of streams (as the group commit bounds a statement; at least one send): in
 * one transaction, claims them (SKIP LOCKED: another instance takes others, a cancel under way
 * keeps its own), deletes their rows and stores them through the send statement; then
 * publishes. Answers what it stored.
 */
export async function deliverDue(deps: PublishDeps & { pool: Pool }, limit: number) {
  const stored = await inTransaction(deps.pool, async (client) => {
    const { rows: due } = await client.query<{ id: string; streamCount: number }>(
      `SELECT id::text, "streamCount" FROM "ScheduledSend" WHERE "sendAt" <= now()
       ORDER BY "sendAt", "createdAt" LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    if (due.length === 0) return [];
    let weight = 0;
    // The rest stay locked until this commits, and are the next pass's.
    const taken = due.filter(
      (row, index) => (weight += row.streamCount) <= LIMITS.recipients || index === 0,
    );
    const { rows } = await client.query<ScheduledRow & { createdAt: Date }>(
      `DELETE FROM "ScheduledSend" WHERE id = ANY($1::uuid[])
       RETURNING id::text, "sendAt", "categoryName", send, "createdAt"`,
      [taken.map((row) => row.id)],
    );
    // In the order they were due, and those due together in the order they were asked for.
    rows.sort((x, y) => +x.sendAt - +y.sendAt || +x.createdAt - +y.createdAt);
    return (await storeSendsIn(client, rows.map(sendOf))).filter((one) => one !== undefined);
  });
  if (stored.length > 0) await publishCommitted(deps, createdStreamEvents(stored));
  return stored.map((one) => one.notification);
}

/** Milliseconds until the next scheduled send is due (by the database's clock); null: none. */
export async function nextDueInMs(pool: Pool): Promise<number | null> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT GREATEST(0, ceil(EXTRACT(EPOCH FROM (min("sendAt") - now())) * 1000))::int AS ms
     FROM "ScheduledSend"`,
  );
  return rows[0]?.ms ?? null;
}

/**
 * Cancels a scheduled send of `viewer` (a service its own, an admin any) before it is delivered:
 * its row goes, so nobody ever sees it. The delete waits for a dispatcher holding the row, and
 * then finds it gone: exactly one of them wins. Delivered already: ALREADY_DELIVERED; not the
 * viewer's, or nothing: NOT_FOUND (as for the other edits of a sent notification).
 */
export async function cancelScheduled(database: Database, viewer: Viewer, id: string) {
  const notFound = new DomainError('NOT_FOUND', `no scheduled notification ${id}`);
  const admin = viewer.kind === 'user' && viewer.admin;
  if (!isNotificationId(id) || (viewer.kind !== 'service' && !admin)) throw notFound;
  const sender = viewer.kind === 'service' ? viewer.service : null;
  const [row] = await database.$queryRaw<{ sendAt: Date }[]>`
    DELETE FROM "ScheduledSend"
    WHERE id = ${id}::uuid AND (${sender}::text IS NULL OR sender = ${sender}::text)
    RETURNING "sendAt"`;
  if (row) return { id, scheduledFor: row.sendAt };
  await sentNotification(database, viewer, id).catch(() => {
    throw notFound;
  });
  throw new DomainError(
    'ALREADY_DELIVERED',
    `notification ${id} was delivered already, so it can no longer be cancelled: recallNotification deletes it for everyone`,
  );
}
