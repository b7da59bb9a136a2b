import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcknowledgeDocument,
  DeleteCategoryDocument,
  DeleteNotificationDocument,
  DeleteTemplateDocument,
  HistoryDocument,
  MarkAllSeenDocument,
  MarkSeenDocument,
  NotificationsForDocument,
  SetCategoryPreferenceDocument,
  StoredNotificationDocument,
  UnseenNotificationsDocument,
  UpsertTemplateDocument,
  SendNotificationDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import {
  ADMIN,
  SERVICE,
  errorCode,
  follow,
  ok,
  run,
  send,
  upsertCategory,
} from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';
import { sleep } from './helpers/wait.js';

// Support for admins: "why did this user not get that?" A notification as stored with its
// receipts, a user's history as they see it with the reasons beside each, and deletion of
// notifications, categories and templates.

let server: TestServer;
const database = () => server.app.services.database;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'news' });
  await upsertCategory(server, { name: 'promo' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  await upsertCategory(server, { name: 'flash', expireAfterSeconds: 1 });
});
afterAll(() => server.stop());

describe('notification(id)', () => {
  it('shows a notification as sent, with its receipts paged in user order', async () => {
    const sent = await send(server, {
      category: 'terms',
      recipientIds: ['rita', 'paul', 'quinn', 'olga'],
      title: 'New terms',
    });
    const id = sent.notification.id;
    await ok(server, MarkSeenDocument, { ids: [id] }, 'paul');
    await ok(server, AcknowledgeDocument, { id }, 'quinn');

    // Inline arguments, an alias, fields in another order.
    const first = await server.request<{
      it: { receipts: { pageInfo: { endCursor: string; hasNextPage: boolean }; nodes: unknown[] } };
    }>(
      `{ it: notification(id: "${id}") { receipts(first: 2) { pageInfo { endCursor hasNextPage } nodes { userId acknowledgedAt seenAt } } } }`,
      {},
      ADMIN,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data!.it.receipts.nodes).toEqual([
      { userId: 'olga', seenAt: null, acknowledgedAt: null },
      { userId: 'paul', seenAt: expect.any(String), acknowledgedAt: null },
    ]);
    expect(first.data!.it.receipts.pageInfo).toEqual({ endCursor: 'paul', hasNextPage: true });

    const rest = await ok(
      server,
      StoredNotificationDocument,
      { id, first: 2, after: first.data!.it.receipts.pageInfo.endCursor },
      ADMIN,
    );
    expect(rest.notification).toMatchObject({
      id,
      category: 'terms',
      title: 'New terms',
      public: false,
      requireAck: true,
      sender: 'env-key-1',
      template: null,
      expired: false,
    });
    expect(
      rest.notification.receipts.nodes.map((r) => [r.userId, !!r.seenAt, !!r.acknowledgedAt]),
    ).toEqual([
      ['quinn', true, true],
      ['rita', false, false],
    ]);
    expect(rest.notification.receipts.pageInfo.hasNextPage).toBe(false);
  });

  it('answers NOT_FOUND for an id that is not a notification, and BAD_USER_INPUT past 500 receipts a page', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expect(await errorCode(server, StoredNotificationDocument, { id }, ADMIN)).toBe('NOT_FOUND');
    }
    const { notification } = await send(server, { category: 'news', public: true, title: 'x' });
    expect(
      await errorCode(
        server,
        StoredNotificationDocument,
        { id: notification.id, first: 501 },
        ADMIN,
      ),
    ).toBe('BAD_USER_INPUT');
  });
});

describe('notificationsFor(userId)', () => {
  it('lists what the user sees as they see it, with why each does or does not wait for them', async () => {
    const user = 'vera';
    const ids = {
      seen: (await send(server, { category: 'news', recipientIds: [user], title: 'seen' }))
        .notification.id,
      muted: (await send(server, { category: 'promo', recipientIds: [user], title: 'muted' }))
        .notification.id,
      expired: (await send(server, { category: 'flash', recipientIds: [user], title: 'expired' }))
        .notification.id,
      publicBelow: (await send(server, { category: 'terms', public: true, title: 'public ack' }))
        .notification.id,
    };
    await ok(server, MarkSeenDocument, { ids: [ids.seen] }, user);
    await ok(server, SetCategoryPreferenceDocument, { category: 'promo', muted: true }, user);
    await ok(server, MarkAllSeenDocument, {}, user);
    const waiting = (await send(server, { category: 'news', recipientIds: [user], title: 'new' }))
      .notification.id;
    const secret = await send(server, {
      category: 'news',
      recipientIds: ['wes'],
      title: 'not hers',
    });
    await sleep(1100); // 'flash' expires after 1 s

    const support = await ok(server, NotificationsForDocument, { userId: user, first: 100 }, ADMIN);
    const page = support.notificationsFor;
    const own = await ok(server, HistoryDocument, { first: 100 }, user);
    // Exactly her history, as she sees it (her seenAt, the position's for public ones).
    expect(page.edges.map((edge) => edge.node)).toEqual(own.notifications.edges.map((e) => e.node));
    expect(page.edges.map((edge) => edge.node.id)).not.toContain(secret.notification.id);

    const why = Object.fromEntries(
      page.edges.map((edge) => [edge.node.id, [edge.needsAttention, edge.muted, edge.expired]]),
    );
    expect(why[ids.seen]).toEqual([false, false, false]);
    expect(why[ids.muted]).toEqual([false, true, false]);
    expect(why[ids.expired]).toEqual([false, false, true]);
    // markAllSeen covered it, but it still waits for her acknowledgement.
    expect(why[ids.publicBelow]).toEqual([true, false, false]);
    expect(why[waiting]).toEqual([true, false, false]);

    // needsAttention is her unseenNotifications, and unseenCount her badge.
    const unseen = await ok(server, UnseenNotificationsDocument, { limit: 1000 }, user);
    const attention = page.edges.filter((edge) => edge.needsAttention).map((edge) => edge.node.id);
    expect(attention.sort()).toEqual(unseen.unseenNotifications.map((n) => n.id).sort());
    expect(page.unseenCount).toBe(unseen.unseenNotifications.length);
    expect(page.preferences).toEqual([{ category: 'promo', muted: true }]);
  });

  it('pages with the history’s cursors and refuses a bad userId, first or after', async () => {
    const user = 'walt';
    for (let i = 0; i < 3; i++) {
      await send(server, { category: 'news', recipientIds: [user], title: `n${i}` });
    }
    const first = await ok(server, NotificationsForDocument, { userId: user, first: 2 }, ADMIN);
    expect(first.notificationsFor.pageInfo.hasNextPage).toBe(true);
    const next = await server.request<{ page: { edges: { node: { title: string } }[] } }>(
      `query Next($who: String!, $cursor: String) {
        page: notificationsFor(after: $cursor, userId: $who) { edges { node { title } } }
      }`,
      { who: user, cursor: first.notificationsFor.pageInfo.endCursor },
      ADMIN,
    );
    const titles = [
      ...first.notificationsFor.edges.map((edge) => edge.node.title),
      ...next.data!.page.edges.map((edge) => edge.node.title),
    ];
    // The public ones sent by other tests are hers too; her own three come newest first.
    expect(titles.filter((title) => /^n\d$/.test(title))).toEqual(['n2', 'n1', 'n0']);

    for (const variables of [
      { userId: '', first: 10 },
      { userId: 'x'.repeat(256), first: 10 },
      { userId: user, first: 101 },
      { userId: user, after: 'nope' },
    ]) {
      expect(await errorCode(server, NotificationsForDocument, variables, ADMIN)).toBe(
        'BAD_USER_INPUT',
      );
    }
  });
});

describe('deletion', () => {
  it('deletes a notification at once: its receipts and events go, open inboxes get DELETED', async () => {
    const { notification } = await send(server, {
      category: 'news',
      recipientIds: ['xena', 'yann'],
      title: 'sent by mistake',
    });
    const stream = await follow<MyNotificationsSubscription>(server, 'xena');
    const deleted = await ok(server, DeleteNotificationDocument, { id: notification.id }, ADMIN);
    expect(deleted.deleteNotification).toBe(notification.id);
    const [event] = await stream.waitForCount(1);
    expect(event!.data!.myNotifications).toMatchObject({
      type: 'DELETED',
      notification: { id: notification.id },
    });
    stream.close();

    expect(await database().notification.count({ where: { id: notification.id } })).toBe(0);
    expect(await database().receipt.count({ where: { notificationId: notification.id } })).toBe(0);
    const events = await database().event.findMany({ where: { notificationId: notification.id } });
    expect(events.map((e) => e.type)).toEqual(['DELETED', 'DELETED']);
    const history = await ok(server, HistoryDocument, { first: 100 }, 'yann');
    expect(history.notifications.edges.map((edge) => edge.node.id)).not.toContain(notification.id);

    expect(
      await errorCode(server, DeleteNotificationDocument, { id: notification.id }, ADMIN),
    ).toBe('NOT_FOUND');
    expect(await errorCode(server, DeleteNotificationDocument, { id: 'nope' }, ADMIN)).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses to delete a category that has notifications (CATEGORY_IN_USE), changing nothing; once they are gone it goes with its preferences', async () => {
    await upsertCategory(server, { name: 'retired' });
    const { notification } = await send(server, {
      category: 'retired',
      recipientIds: ['zoe'],
      title: 'last one',
    });
    await ok(server, SetCategoryPreferenceDocument, { category: 'retired', muted: true }, 'zoe');

    const before = await snapshotTables(server.databaseUrl);
    const refused = await run(server, DeleteCategoryDocument, { name: 'retired' }, ADMIN);
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['CATEGORY_IN_USE']);
    expect(refused.errors?.[0]?.message).toMatch(/retired.*still has notifications/);
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);

    await ok(server, DeleteNotificationDocument, { id: notification.id }, ADMIN);
    const deleted = await ok(server, DeleteCategoryDocument, { name: 'retired' }, ADMIN);
    expect(deleted.deleteCategory).toEqual({ name: 'retired' });
    expect(await database().preference.count({ where: { categoryName: 'retired' } })).toBe(0);
    expect(await errorCode(server, DeleteCategoryDocument, { name: 'retired' }, ADMIN)).toBe(
      'UNKNOWN_CATEGORY',
    );
    const refusedSend = await run(
      server,
      SendNotificationDocument,
      { input: { category: 'retired', recipientIds: ['zoe'], title: 'again' } },
      SERVICE,
    );
    expect(refusedSend.errors?.[0]?.extensions?.code).toBe('UNKNOWN_CATEGORY');
  });

  it('deletes a template: what was sent with it keeps its text, later sends naming it are refused', async () => {
    await ok(
      server,
      UpsertTemplateDocument,
      { input: { key: 'welcome', title: 'Welcome, {{name}}' } },
      ADMIN,
    );
    const { notification } = await send(server, {
      category: 'news',
      recipientIds: ['abe'],
      template: 'welcome',
      variables: { name: 'Abe' },
    });
    const deleted = await ok(server, DeleteTemplateDocument, { key: 'welcome' }, ADMIN);
    expect(deleted.deleteTemplate).toEqual({ key: 'welcome' });

    const stored = await ok(server, StoredNotificationDocument, { id: notification.id }, ADMIN);
    expect(stored.notification).toMatchObject({ title: 'Welcome, Abe', template: 'welcome' });
    const again = await run(
      server,
      SendNotificationDocument,
      { input: { category: 'news', recipientIds: ['abe'], template: 'welcome' } },
      SERVICE,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await errorCode(server, DeleteTemplateDocument, { key: 'welcome' }, ADMIN)).toBe(
      'NOT_FOUND',
    );
  });
});
