import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { WebhookEvent } from '../generated/prisma/enums.js';
import { refusedHost } from './webhook-addresses.js';
import { LIMITS, badInput, isUuid } from './validation.js';

// A service's webhooks: created, listed and deleted by that service (admins see and delete all).
// What they receive is queued by triggers (prisma/migrations/*_webhooks) and sent by
// webhook-deliveries.ts.

export interface WebhookOwner {
  /** The calling service's name, or null for an admin (every service's webhooks). */
  service: string | null;
}

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
  categories?: string[] | null;
}

export interface WebhookSettings {
  allowPrivate: boolean;
  maxPerService: number;
}

/** Standard Webhooks' secret format: whsec_ and the base64 of the key's bytes (24 of them). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Refuses a URL that is not http(s), too long, or resolves to a non-public address. */
export async function checkWebhookUrl(url: string, allowPrivate: boolean) {
  if (url.length > LIMITS.urlLength) badInput(`url must be at most ${LIMITS.urlLength} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    badInput('url must be an absolute http(s) URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    badInput('url must be an absolute http(s) URL');
  }
  if (parsed.username || parsed.password) badInput('url must not carry credentials');
  if (allowPrivate) return;
  const refused = await refusedHost(parsed.hostname);
  if (refused) badInput(`url refused: ${refused} (WEBHOOK_ALLOW_PRIVATE is off)`);
}

export async function createWebhook(
  database: Database,
  service: string,
  input: WebhookInput,
  settings: WebhookSettings,
) {
  const events = [...new Set(input.events)];
  if (events.length === 0) badInput('events must name at least one event');
  const categories = input.categories == null ? null : [...new Set(input.categories)];
  if (categories?.length === 0)
    badInput('categories must name at least one, or be left out for all');
  if (categories && categories.length > 100) badInput('categories must name at most 100');
  await checkWebhookUrl(input.url, settings.allowPrivate);
  if (categories) {
    const known = await database.category.findMany({
      where: { name: { in: categories } },
      select: { name: true },
    });
    const missing = categories.find((name) => !known.some((category) => category.name === name));
    if (missing) throw new DomainError('UNKNOWN_CATEGORY', `no category "${missing}"`);
  }
  const secret = newWebhookSecret();
  const webhook = await database.$transaction(async (tx) => {
    // Counted and inserted under the service's lock, so concurrent creates cannot pass the limit.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`webhooks:${service}`}))`;
    const count = await tx.webhook.count({ where: { service } });
    if (count >= settings.maxPerService) {
      badInput(`a service may have at most ${settings.maxPerService} webhooks: delete one first`);
    }
    return tx.webhook.create({
      data: { service, url: input.url, events, categories: categories ?? [], secret },
    });
  });
  return { webhook, secret };
}

export function listWebhooks(database: Database, owner: WebhookOwner) {
  return database.webhook.findMany({
    where: owner.service === null ? {} : { service: owner.service },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
}

/** Deletes the webhook with its queued deliveries; NOT_FOUND when it is not the caller's. */
export async function deleteWebhook(database: Database, owner: WebhookOwner, id: string) {
  const { count } = isUuid(id)
    ? await database.webhook.deleteMany({
        where: owner.service === null ? { id } : { id, service: owner.service },
      })
    : { count: 0 };
  if (count === 0) throw new DomainError('NOT_FOUND', `no webhook ${id}`);
  return true;
}
