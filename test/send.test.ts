import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventCursorDocument,
  InboxDocument,
  MyNotificationsDocument,
  SendNotificationDocument,
  UpsertTemplateDocument,
  type SendNotificationInput,
} from '../client/graphql.js';
import { createApiKey } from '../src/auth/api-keys.js';
import {
  ADMIN,
  SERVICE,
  ok,
  run,
  send,
  subscribe,
  upsertCategory,
  userSocket,
} from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Step 1 of the process: a service sends. The category decides the dates and flags, the
// notification is stored (once, with a receipt per private recipient), then published.

const DEFAULT_DELETE_AFTER_SECONDS = 3600;

let server: TestServer;
const database = () => server.app.services.database;

beforeAll(async () => {
  server = await startTestServer({
    env: { DEFAULT_DELETE_AFTER_SECONDS: String(DEFAULT_DELETE_AFTER_SECONDS) },
  });
  await upsertCategory(server, {
    name: 'account',
    expireAfterSeconds: 600,
    deleteAfterSeconds: 7200,
    requireAck: true,
    priority: 'HIGH',
  });
  await upsertCategory(server, { name: 'news' });
  await upsertCategory(server, { name: 'plain', priority: 'LOW' });
});
afterAll(() => server.stop());

/** Row counts of everything a send may write. */
async function counts() {
  const db = database();
  const [notifications, receipts, events, idempotencyKeys] = await Promise.all([
    db.notification.count(),
    db.receipt.count(),
    db.event.count(),
    db.idempotencyKey.count(),
  ]);
  return { notifications, receipts, events, idempotencyKeys };
}

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/** Sends as `apiKey` (the configured test key by default) and returns the first error, if any. */
async function attempt(input: SendNotificationInput, apiKey?: string) {
  const result = await run(
    server,
    SendNotificationDocument,
    { input },
    apiKey ? { apiKey } : SERVICE,
  );
  return { result, error: result.errors?.[0] };
}

describe('persisting a send', () => {
  it('stores a private notification with the category priority, requireAck and dates while nobody is online', async () => {
    const sent = await send(server, {
      category: 'account',
      recipientIds: ['offline-olga'],
      title: 'Password changed',
      body: 'If this was not you, reset it now.',
      data: { device: 'Firefox', attempts: 2 },
    });

    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
      include: { receipts: true },
    });
    expect(row).toMatchObject({
      categoryName: 'account',
      priority: 'HIGH',
      requireAck: true,
      public: false,
      sender: 'env-key-1',
      title: 'Password changed',
      body: 'If this was not you, reset it now.',
      data: { device: 'Firefox', attempts: 2 },
    });
    expect(row.expiresAt?.toISOString()).toBe(sent.notification.expiresAt);
    expect(row.deleteAt.toISOString()).toBe(sent.notification.deleteAt);
    expect(row.receipts).toEqual([
      {
        notificationId: sent.notification.id,
        userId: 'offline-olga',
        seenAt: null,
        acknowledgedAt: null,
        // Copied from the notification, for the partial indexes that counting walks, and its
        // seq, for the index a user's history walks.
        requireAck: true,
        public: false,
        seq: row.seq,
        archivedAt: null,
        snoozedUntil: null,
        updatedAt: expect.any(Date),
        // Ungrouped: it stands for itself alone.
        groupKey: null,
        groupCount: 1,
      },
    ]);
    const events = await database().event.findMany({ where: { notificationId: row.id } });
    expect(events.map((event) => [event.stream, event.type])).toEqual([
      ['user:offline-olga', 'CREATED'],
    ]);

    // Olga was never online; when she comes, it is waiting for her.
    const inbox = await ok(server, InboxDocument, {}, 'offline-olga');
    expect(inbox.unseenNotifications.map((n) => [n.id, n.priority, n.requireAck])).toEqual([
      [sent.notification.id, 'HIGH', true],
    ]);
  });

  it('has committed the notification by the time a live subscriber receives it', async () => {
    const { eventCursor } = await ok(server, EventCursorDocument, {}, 'live-lena');
    const stream = subscribe(await userSocket(server, 'live-lena'), MyNotificationsDocument, {
      after: eventCursor,
    });
    const sent = await send(server, {
      category: 'plain',
      recipientIds: ['live-lena'],
      title: 'Export ready',
    });
    const [delivered] = await stream.waitForCount(1);
    // unseenCount is read from the database as the event is delivered: 1 means the row and
    // Lena's receipt were already committed when it was published.
    expect(delivered!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      unseenCount: 1,
      notification: { id: sent.notification.id, title: 'Export ready', priority: 'LOW' },
    });
    stream.close();
  });
});

describe('dates', () => {
  it('derives expiresAt and deleteAt from the category seconds', async () => {
    const before = Date.now();
    const sent = await send(server, { category: 'account', recipientIds: ['dana'], title: 'x' });
    const after = Date.now();

    const expiresAt = Date.parse(sent.notification.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 600_000);
    const deleteAt = Date.parse(sent.notification.deleteAt);
    expect(deleteAt).toBeGreaterThanOrEqual(before + 7_200_000);
    expect(deleteAt).toBeLessThanOrEqual(after + 7_200_000);
  });

  it('never expires and deletes after DEFAULT_DELETE_AFTER_SECONDS when the category sets neither', async () => {
    const before = Date.now();
    const sent = await send(server, { category: 'news', recipientIds: ['dana'], title: 'x' });
    const after = Date.now();

    expect(sent.notification.expiresAt).toBeNull();
    const deleteAt = Date.parse(sent.notification.deleteAt);
    expect(deleteAt).toBeGreaterThanOrEqual(before + DEFAULT_DELETE_AFTER_SECONDS * 1000);
    expect(deleteAt).toBeLessThanOrEqual(after + DEFAULT_DELETE_AFTER_SECONDS * 1000);
    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    expect(row.expiresAt).toBeNull();
    expect(row.deleteAt.getTime()).toBe(deleteAt);
  });

  it("stores an explicit expiresAt and deleteAt instead of the category's", async () => {
    const expiresAt = inSeconds(30);
    const deleteAt = inSeconds(90_000);
    const sent = await send(server, {
      category: 'account',
      recipientIds: ['dana'],
      title: 'x',
      expiresAt,
      deleteAt,
    });
    expect(sent.notification).toMatchObject({ expiresAt, deleteAt });
    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    expect(row.expiresAt?.toISOString()).toBe(expiresAt);
    expect(row.deleteAt.toISOString()).toBe(deleteAt);
  });
});

describe('audiences', () => {
  it('stores a public notification once, with no receipts', async () => {
    const before = await counts();
    const sent = await send(server, { category: 'news', public: true, title: 'Maintenance' });
    expect(sent).toMatchObject({
      recipientCount: 0,
      deduplicated: false,
      notification: { public: true },
    });
    expect(
      await database().receipt.count({ where: { notificationId: sent.notification.id } }),
    ).toBe(0);
    const events = await database().event.findMany({
      where: { notificationId: sent.notification.id },
    });
    expect(events.map((event) => [event.stream, event.type])).toEqual([['public', 'CREATED']]);
    expect(await counts()).toEqual({
      ...before,
      notifications: before.notifications + 1,
      events: before.events + 1,
    });
  });

  it('stores a private send to three users as one notification with three receipts', async () => {
    const before = await counts();
    const sent = await send(server, {
      category: 'plain',
      recipientIds: ['ann', 'ben', 'cat'],
      title: 'Team meeting moved',
    });
    expect(sent.recipientCount).toBe(3);
    const receipts = await database().receipt.findMany({
      where: { notificationId: sent.notification.id },
      orderBy: { userId: 'asc' },
    });
    expect(receipts.map((r) => [r.userId, r.seenAt, r.acknowledgedAt])).toEqual([
      ['ann', null, null],
      ['ben', null, null],
      ['cat', null, null],
    ]);
    expect(await counts()).toEqual({
      ...before,
      notifications: before.notifications + 1,
      receipts: before.receipts + 3,
      events: before.events + 3,
    });
  });

  it('counts a recipient named twice once', async () => {
    const sent = await send(server, {
      category: 'plain',
      recipientIds: ['dup-a', 'dup-b', 'dup-a'],
      title: 'x',
    });
    expect(sent.recipientCount).toBe(2);
    const receipts = await database().receipt.findMany({
      where: { notificationId: sent.notification.id },
      orderBy: { userId: 'asc' },
    });
    expect(receipts.map((r) => r.userId)).toEqual(['dup-a', 'dup-b']);
  });
});

describe('templates', () => {
  beforeAll(async () => {
    await ok(
      server,
      UpsertTemplateDocument,
      {
        input: {
          key: 'welcome',
          title: 'Welcome, {{name}}!',
          body: 'You have {{ count }} new messages in {{team}}.',
        },
      },
      ADMIN,
    );
  });

  it('fills the placeholders of a stored template from the variables', async () => {
    const sent = await send(server, {
      category: 'plain',
      recipientIds: ['tina'],
      template: 'welcome',
      variables: { name: 'Tina', count: 3, team: 'Ops' },
    });
    expect(sent.notification).toMatchObject({
      title: 'Welcome, Tina!',
      body: 'You have 3 new messages in Ops.',
    });
    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    expect(row).toMatchObject({
      title: 'Welcome, Tina!',
      body: 'You have 3 new messages in Ops.',
      templateKey: 'welcome',
    });
  });

  it('refuses a template send with a missing variable with BAD_USER_INPUT and stores nothing', async () => {
    const before = await counts();
    const { error } = await attempt({
      category: 'plain',
      recipientIds: ['tina'],
      template: 'welcome',
      variables: { name: 'Tina' },
    });
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toMatch(/count/);
    expect(error?.message).toMatch(/team/);
    expect(await counts()).toEqual(before);
  });
});

describe('refused sends store nothing', () => {
  const to = { category: 'plain', recipientIds: ['rita'] };
  const cases: [string, SendNotificationInput, string][] = [
    [
      'an unknown category',
      { category: 'no-such-category', recipientIds: ['rita'], title: 'x' },
      'UNKNOWN_CATEGORY',
    ],
    ['neither recipientIds nor public', { category: 'plain', title: 'x' }, 'BAD_USER_INPUT'],
    [
      'public: false without recipientIds',
      { category: 'plain', public: false, title: 'x' },
      'BAD_USER_INPUT',
    ],
    [
      'both recipientIds and public',
      { category: 'plain', recipientIds: ['rita'], public: true, title: 'x' },
      'BAD_USER_INPUT',
    ],
    ['empty recipientIds', { category: 'plain', recipientIds: [], title: 'x' }, 'BAD_USER_INPUT'],
    [
      'an empty recipient id',
      { category: 'plain', recipientIds: [''], title: 'x' },
      'BAD_USER_INPUT',
    ],
    ['an empty title', { ...to, title: '' }, 'BAD_USER_INPUT'],
    ['a blank title', { ...to, title: '   ' }, 'BAD_USER_INPUT'],
    ['no title and no template', { ...to, body: 'only a body' }, 'BAD_USER_INPUT'],
    ['a title of 201 characters', { ...to, title: 't'.repeat(201) }, 'BAD_USER_INPUT'],
    ['a body of 5001 characters', { ...to, title: 'x', body: 'b'.repeat(5001) }, 'BAD_USER_INPUT'],
    [
      'data over 16 KB',
      { ...to, title: 'x', data: { blob: 'd'.repeat(16 * 1024) } },
      'BAD_USER_INPUT',
    ],
    [
      'a javascript: actionUrl',
      { ...to, title: 'x', actionUrl: 'javascript:alert(document.cookie)' },
      'BAD_USER_INPUT',
    ],
    [
      'a data: actionUrl',
      { ...to, title: 'x', actionUrl: 'data:text/html,<script>alert(1)</script>' },
      'BAD_USER_INPUT',
    ],
    ['a javascript: icon', { ...to, title: 'x', icon: 'JavaScript:alert(1)' }, 'BAD_USER_INPUT'],
    [
      'a data: icon',
      { ...to, title: 'x', icon: 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=' },
      'BAD_USER_INPUT',
    ],
    [
      'a protocol-relative actionUrl',
      { ...to, title: 'x', actionUrl: '//evil.example/phish' },
      'BAD_USER_INPUT',
    ],
    [
      'an expiresAt in the past',
      { ...to, title: 'x', expiresAt: inSeconds(-60) },
      'BAD_USER_INPUT',
    ],
    [
      'a deleteAt before expiresAt',
      { ...to, title: 'x', expiresAt: inSeconds(7200), deleteAt: inSeconds(3600) },
      'BAD_USER_INPUT',
    ],
    [
      'a template together with a title',
      { ...to, template: 'welcome', variables: {}, title: 'x' },
      'BAD_USER_INPUT',
    ],
    [
      'an unknown template',
      { ...to, template: 'no-such-template', variables: {} },
      'BAD_USER_INPUT',
    ],
    [
      'template variables that are not an object',
      { ...to, template: 'welcome', variables: ['Tina', 3, 'Ops'] },
      'BAD_USER_INPUT',
    ],
    [
      'an idempotencyKey of 256 characters',
      { ...to, title: 'x', idempotencyKey: 'k'.repeat(256) },
      'BAD_USER_INPUT',
    ],
  ];

  it.each(cases)('refuses %s with %s', async (_name, input, code) => {
    const before = await counts();
    const { result, error } = await attempt(input);
    expect(error?.extensions?.code).toBe(code);
    expect(result.data).toBeNull();
    expect(await counts()).toEqual(before);
  });

  it('accepts a title of 200, a body of 5000 and data of exactly 16 KB', async () => {
    const data = { blob: 'd'.repeat(16 * 1024 - '{"blob":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(data))).toBe(16 * 1024);
    const sent = await send(server, {
      ...to,
      title: 't'.repeat(200),
      body: 'b'.repeat(5000),
      data,
    });
    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    expect(row.title).toHaveLength(200);
    expect(row.body).toHaveLength(5000);
    expect(row.data).toEqual(data);
  });

  it.each([
    ['https', 'https://example.com/orders/7', 'https://cdn.example.com/i.png'],
    ['http', 'http://intranet.example/orders/7', 'http://intranet.example/i.png'],
    ['a relative path', '/orders/7', '/static/icon.png'],
  ])('accepts %s links for actionUrl and icon', async (_name, actionUrl, icon) => {
    const sent = await send(server, { ...to, title: 'x', actionUrl, icon });
    expect(sent.notification).toMatchObject({ actionUrl, icon });
    const row = await database().notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    expect(row).toMatchObject({ actionUrl, icon });
  });
});

describe('idempotency keys', () => {
  it('returns the first notification, deduplicated, when a service repeats its key', async () => {
    const input = {
      category: 'plain',
      recipientIds: ['ivy', 'ida'],
      title: 'Invoice paid',
      idempotencyKey: 'invoice-1001',
    };
    const first = await send(server, input);
    expect(first).toMatchObject({ deduplicated: false, recipientCount: 2 });
    const before = await counts();

    const again = await send(server, { ...input, title: 'Invoice paid (retry)' });
    expect(again).toMatchObject({ deduplicated: true, recipientCount: 2 });
    expect(again.notification.id).toBe(first.notification.id);
    expect(again.notification.title).toBe('Invoice paid');
    expect(await counts()).toEqual(before);
  });

  it('creates exactly one notification when five sends race with the same key', async () => {
    const before = await counts();
    const input = {
      category: 'plain',
      recipientIds: ['rex'],
      title: 'Race',
      idempotencyKey: 'race-1',
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => send(server, input)));

    expect(new Set(results.map((r) => r.notification.id)).size).toBe(1);
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
    expect(results.filter((r) => r.deduplicated)).toHaveLength(4);
    expect(await counts()).toEqual({
      notifications: before.notifications + 1,
      receipts: before.receipts + 1,
      events: before.events + 1,
      idempotencyKeys: before.idempotencyKeys + 1,
    });
  });

  it('creates a new notification for a different key', async () => {
    const input = { category: 'plain', recipientIds: ['kim'], title: 'Order shipped' };
    const first = await send(server, { ...input, idempotencyKey: 'order-1' });
    const second = await send(server, { ...input, idempotencyKey: 'order-2' });
    expect(second.deduplicated).toBe(false);
    expect(second.notification.id).not.toBe(first.notification.id);
    expect(
      await database().notification.count({
        where: { id: { in: [first.notification.id, second.notification.id] } },
      }),
    ).toBe(2);
  });

  it('gives another service its own notification for the same key', async () => {
    const billingKey = await createApiKey(database(), 'billing');
    const input = {
      category: 'plain',
      recipientIds: ['lea'],
      title: 'Shared key',
      idempotencyKey: 'shared-key-1',
    };
    const fromTestService = await send(server, input);
    const { result } = await attempt(input, billingKey);
    const fromBilling = result.data!.sendNotification;

    expect(fromBilling.deduplicated).toBe(false);
    expect(fromBilling.notification.id).not.toBe(fromTestService.notification.id);
    const rows = await database().notification.findMany({
      where: { id: { in: [fromTestService.notification.id, fromBilling.notification.id] } },
      orderBy: { seq: 'asc' },
    });
    expect(rows.map((row) => row.sender)).toEqual(['env-key-1', 'billing']);
    expect(await database().idempotencyKey.count({ where: { key: 'shared-key-1' } })).toBe(2);
  });
});
