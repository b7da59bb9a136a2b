import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { UpsertTemplateDocument } from '../client/graphql.js';
import { MAX_BUS_MESSAGE_BYTES } from '../src/realtime/codec.js';
import { pairForTests, TEST_REDIS_URL } from './helpers/cluster.js';
import { query } from './helpers/pg-query.js';
import { ADMIN, SERVICE, follow, ok, send, upsertCategory } from './helpers/operations.js';
import type { TestServer } from './helpers/server.js';

// Sends across two instances: each keeps categories and templates in its process, and a change
// made on one is used by the other's next send; a send to 10,000 users is stored and reaches
// the online ones on the other instance in bounded bus messages.

const pair = pairForTests();

const SEND = `mutation ($in: SendNotificationInput!) {
  sendNotification(input: $in) { notification { title body priority requireAck expiresAt } }
}`;
type Sent = {
  title: string;
  body: string | null;
  priority: string;
  requireAck: boolean;
  expiresAt: string | null;
};
async function sendOn(server: TestServer, input: Record<string, unknown>) {
  const result = await server.request<{ sendNotification: { notification: Sent } }>(
    SEND,
    { in: { recipientIds: ['cat'], ...input } },
    SERVICE,
  );
  return { notification: result.data?.sendNotification.notification, error: result.errors?.[0] };
}

describe('categories and templates kept in each instance', () => {
  it("uses a category changed on one instance in the other's next send", async () => {
    await upsertCategory(pair.a, { name: 'shifting', priority: 'LOW' });
    // b reads and keeps it.
    expect((await sendOn(pair.b, { category: 'shifting', title: '1' })).notification).toMatchObject(
      {
        priority: 'LOW',
        requireAck: false,
        expiresAt: null,
      },
    );
    await upsertCategory(pair.a, {
      name: 'shifting',
      priority: 'URGENT',
      requireAck: true,
      expireAfterSeconds: 60,
    });
    const next = (await sendOn(pair.b, { category: 'shifting', title: '2' })).notification!;
    expect(next).toMatchObject({ priority: 'URGENT', requireAck: true });
    expect(next.expiresAt).not.toBeNull();
  });

  it("uses a category created on one instance in the other's next send, after it was missing", async () => {
    const missing = await sendOn(pair.b, { category: 'late', title: 'too early' });
    expect(missing.error?.extensions?.code).toBe('UNKNOWN_CATEGORY');
    await upsertCategory(pair.a, { name: 'late', priority: 'HIGH' });
    expect((await sendOn(pair.b, { category: 'late', title: 'now' })).notification).toMatchObject({
      priority: 'HIGH',
    });
  });

  it("uses a template changed on one instance in the other's next send", async () => {
    await upsertCategory(pair.a, { name: 'templated' });
    const template = (title: string) =>
      ok(pair.a, UpsertTemplateDocument, { input: { key: 'greeting', title } }, ADMIN);
    await template('Hello {{name}}');
    const use = () =>
      sendOn(pair.b, { category: 'templated', template: 'greeting', variables: { name: 'Kim' } });
    expect((await use()).notification?.title).toBe('Hello Kim');
    await template('Goodbye {{name}}');
    expect((await use()).notification?.title).toBe('Goodbye Kim');
  });
});

describe('a send to 10,000 users', () => {
  it('is stored whole and reaches the online ones on the other instance in bounded messages', async () => {
    await upsertCategory(pair.a, { name: 'crowd' });
    const recipients = Array.from({ length: 10_000 }, (_, i) => `crowd-${i}`);
    const online = recipients.filter((_, i) => i % 1000 === 7);
    const streams = await Promise.all(online.map((user) => follow(pair.b, user)));

    const tap = new Redis(TEST_REDIS_URL);
    const sizes: number[] = [];
    tap.on('messageBuffer', (_channel: Buffer, message: Buffer) => sizes.push(message.length));
    await tap.subscribe(`${pair.channelPrefix}events`);
    try {
      const sent = await send(pair.a, {
        category: 'crowd',
        recipientIds: recipients,
        title: 'all',
      });
      expect(sent.recipientCount).toBe(10_000);
      const [stored] = await query<{ receipts: string; events: string }>(
        pair.database.url,
        `SELECT (SELECT count(*) FROM "Receipt" WHERE "notificationId" = $1) AS receipts,
                (SELECT count(*) FROM "Event" WHERE "notificationId" = $1) AS events`,
        [sent.notification.id],
      );
      expect(stored).toEqual({ receipts: '10000', events: '10000' });
      for (const stream of streams) {
        const [event] = await stream.waitForCount(1);
        expect(event!.data!.myNotifications.notification.id).toBe(sent.notification.id);
      }
      // The content once, then an entry per recipient: a handful of messages, none over the bound.
      expect(sizes.length).toBeGreaterThan(1);
      expect(sizes.length).toBeLessThan(40);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BUS_MESSAGE_BYTES);
    } finally {
      tap.disconnect();
    }
  });
});
