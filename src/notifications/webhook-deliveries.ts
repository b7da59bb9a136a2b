import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { takeClient, type Pool } from '../db/client.js';
import type { WebhookEvent } from '../generated/prisma/enums.js';
import { isPublicAddress, publicOnlyLookup } from './webhook-addresses.js';

// The outbox's consumer. Deliveries are queued by triggers in the transaction that made the
// change; here they are claimed, sent and settled, at least once:
// - a claim is one statement (FOR UPDATE SKIP LOCKED) that moves the delivery's nextAttemptAt a
//   lease ahead and counts the attempt, then commits: no transaction is open while the request
//   is in flight, and no other instance takes it while the lease runs. An instance that dies
//   mid-delivery leaves the lease to run out; another then sends it again, with the same id.
// - settling checks the attempt count it claimed with, so a late answer after the lease ran out
//   and another instance took it over changes nothing.

export interface DeliverySettings {
  allowPrivate: boolean;
  timeoutSeconds: number;
  retryBaseSeconds: number;
  retryHours: number;
  keepDays: number;
}

const TYPES: Record<WebhookEvent, string> = {
  SEEN: 'notification.seen',
  ACKNOWLEDGED: 'notification.acknowledged',
  DELETED: 'notification.deleted',
  UNACKNOWLEDGED: 'notification.unacknowledged',
};

/** The longest wait between two attempts. */
const MAX_RETRY_DELAY_SECONDS = 3600;

interface Claimed {
  id: string;
  event: WebhookEvent;
  data: Record<string, unknown>;
  attempts: number;
  createdAt: Date;
  url: string;
  secret: string;
}

/** Seconds a claimed delivery stays another instance's: its request, its DNS and its settling. */
export const leaseSeconds = (settings: DeliverySettings) => settings.timeoutSeconds * 2 + 5;

/** Claims up to `limit` due deliveries for this instance (committed at once). */
export async function claimDueDeliveries(
  pool: Pool,
  settings: DeliverySettings,
  limit: number,
): Promise<Claimed[]> {
  const { rows } = await pool.query<Claimed>(
    `WITH due AS (
       SELECT id FROM "WebhookDelivery"
       WHERE status = 'PENDING' AND "nextAttemptAt" <= now()
       ORDER BY "nextAttemptAt" LIMIT $1
       FOR UPDATE SKIP LOCKED)
     UPDATE "WebhookDelivery" d
     SET attempts = d.attempts + 1, "nextAttemptAt" = now() + make_interval(secs => $2)
     FROM due, "Webhook" w
     WHERE d.id = due.id AND w.id = d."webhookId"
     RETURNING d.id::text, d.event, d.data, d.attempts, d."createdAt", w.url, w.secret`,
    [limit, leaseSeconds(settings)],
  );
  return rows;
}

/** The Standard Webhooks signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** What a receiver gets: the body, and the headers that carry its id and signature. */
export function webhookRequest(delivery: Claimed, now = Date.now()) {
  const body = JSON.stringify({
    type: TYPES[delivery.event],
    timestamp: delivery.createdAt.toISOString(),
    data: delivery.data,
  });
  const timestamp = Math.floor(now / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'notification-service-webhooks',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(delivery.secret, delivery.id, timestamp, body),
    },
  };
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'released';

/**
 * Sends one claimed delivery and settles it: a 2xx is delivered; anything else is retried with
 * exponential back-off and jitter until `retryHours` after the event, then failed. Stopping
 * (`signal`) releases it for the next instance at once.
 */
export async function deliver(
  pool: Pool,
  settings: DeliverySettings,
  delivery: Claimed,
  signal: AbortSignal,
): Promise<{ outcome: DeliveryOutcome; error?: string }> {
  let error: string | undefined;
  try {
    const status = await post(delivery, settings, signal);
    if (status >= 200 && status < 300) {
      await settle(
        pool,
        delivery,
        `status = 'DELIVERED', "finishedAt" = now(), "lastError" = NULL`,
      );
      return { outcome: 'delivered' };
    }
    error = `HTTP ${status}`;
  } catch (failure) {
    if (signal.aborted) {
      await settle(pool, delivery, `"nextAttemptAt" = now()`);
      return { outcome: 'released' };
    }
    error = (failure as Error).message || String(failure);
  }
  const retryUntil = delivery.createdAt.getTime() + settings.retryHours * 3600_000;
  const delay = retryDelaySeconds(settings.retryBaseSeconds, delivery.attempts);
  // Failed only once the window is over: the last retry may fall just past it, never short of it.
  if (Date.now() >= retryUntil) {
    await settle(pool, delivery, `status = 'FAILED', "finishedAt" = now(), "lastError" = $3`, [
      error.slice(0, 500),
    ]);
    return { outcome: 'failed', error };
  }
  await settle(
    pool,
    delivery,
    `"nextAttemptAt" = now() + make_interval(secs => $4), "lastError" = $3`,
    [error.slice(0, 500), delay],
  );
  return { outcome: 'retry', error };
}

/** base * 2^(attempt-1), at most an hour, then between 75 % and 125 % of that. */
export function retryDelaySeconds(baseSeconds: number, attempt: number): number {
  const plain = Math.min(baseSeconds * 2 ** Math.min(attempt - 1, 30), MAX_RETRY_DELAY_SECONDS);
  return plain * (0.75 + Math.random() * 0.5);
}

async function settle(pool: Pool, delivery: Claimed, set: string, values: unknown[] = []) {
  await pool.query(
    `UPDATE "WebhookDelivery" SET ${set}
     WHERE id = $1 AND attempts = $2 AND status = 'PENDING'`,
    [delivery.id, delivery.attempts, ...values],
  );
}

/** POSTs the delivery; resolves with the response's status once its headers are in. */
function post(delivery: Claimed, settings: DeliverySettings, stop: AbortSignal): Promise<number> {
  const url = new URL(delivery.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!settings.allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return Promise.reject(new Error(`${host} is not a public address`));
  }
  const { body, headers } = webhookRequest(delivery);
  const signal = AbortSignal.any([stop, AbortSignal.timeout(settings.timeoutSeconds * 1000)]);
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        // Checked again as it connects: DNS may have changed since the webhook was created.
        lookup: settings.allowPrivate ? undefined : publicOnlyLookup,
        agent: false,
        signal,
      },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.destroy(); // its body is not read
      },
    );
    request.on('error', (error) =>
      reject(signal.aborted && !stop.aborted ? new Error('timed out') : error),
    );
    request.end(body);
  });
}

/**
 * Queues UNACKNOWLEDGED deliveries for recipients of escalating notifications that are due,
 * walking at most `maxReceipts` receipts in user order from where the last run stopped. Each
 * notification is taken under its escalation row's lock (SKIP LOCKED), and the unique index
 * keeps it to one delivery per webhook, notification and user. Returns the receipts walked.
 */
export async function escalateDue(pool: Pool, maxReceipts: number): Promise<number> {
  let walked = 0;
  while (walked < maxReceipts) {
    const { client, release } = await takeClient(pool);
    try {
      await client.query('BEGIN');
      const due = await client.query<{
        notificationId: string;
        throughUserId: string | null;
        sender: string;
        categoryName: string;
      }>(
        `SELECT e."notificationId"::text, e."throughUserId", n.sender, n."categoryName"
         FROM "WebhookEscalation" e JOIN "Notification" n ON n.id = e."notificationId"
         WHERE e."escalateAt" <= now()
         ORDER BY e."escalateAt" LIMIT 1
         FOR UPDATE OF e SKIP LOCKED`,
      );
      const escalation = due.rows[0];
      if (!escalation) {
        await client.query('COMMIT');
        return walked;
      }
      const page = maxReceipts - walked;
      const { rows } = await client.query<{ walked: number; last: string | null }>(
        `WITH page AS (
           SELECT "userId", "seenAt", "acknowledgedAt" FROM "Receipt"
           WHERE "notificationId" = $1 AND ($2::text IS NULL OR "userId" > $2)
           ORDER BY "userId" LIMIT $3),
         queued AS (
           INSERT INTO "WebhookDelivery" ("webhookId", event, "notificationId", "userId", data)
           SELECT w.id, 'UNACKNOWLEDGED', $1, p."userId",
             jsonb_build_object('notificationId', $1::uuid, 'userId', p."userId",
               'category', $5::text, 'seenAt', p."seenAt")
           FROM page p JOIN "Webhook" w ON w.service = $4
           WHERE p."acknowledgedAt" IS NULL AND 'UNACKNOWLEDGED' = ANY(w.events)
             AND (coalesce(cardinality(w.categories), 0) = 0 OR $5 = ANY(w.categories))
           ON CONFLICT ("webhookId", "notificationId", "userId") WHERE event = 'UNACKNOWLEDGED'
           DO NOTHING)
         SELECT count(*)::int AS walked, max("userId") AS last FROM page`,
        [
          escalation.notificationId,
          escalation.throughUserId,
          page,
          escalation.sender,
          escalation.categoryName,
        ],
      );
      const result = rows[0]!;
      walked += Math.max(result.walked, 1);
      if (result.walked < page) {
        await client.query(`DELETE FROM "WebhookEscalation" WHERE "notificationId" = $1`, [
          escalation.notificationId,
        ]);
      } else {
        await client.query(
          `UPDATE "WebhookEscalation" SET "throughUserId" = $2 WHERE "notificationId" = $1`,
          [escalation.notificationId, result.last],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      release();
    }
  }
  return walked;
}

/** Deletes up to `limit` deliveries finished more than keepDays ago; returns how many. */
export async function pruneFinishedDeliveries(
  pool: Pool,
  keepDays: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM "WebhookDelivery" WHERE id = ANY(ARRAY(
       SELECT id FROM "WebhookDelivery"
       WHERE status <> 'PENDING' AND "finishedAt" < now() - make_interval(days => $1)
       ORDER BY "finishedAt" LIMIT $2))`,
    [keepDays, limit],
  );
  return rowCount ?? 0;
}
