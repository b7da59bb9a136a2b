import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcknowledgeDocument,
  ArchiveAllDocument,
  ArchiveDocument,
  CategoriesDocument,
  CategoryPreferencesDocument,
  DeleteCategoryDocument,
  DeleteNotificationDocument,
  DeleteTemplateDocument,
  EventCursorDocument,
  HistoryDocument,
  MarkAllSeenDocument,
  MarkSeenDocument,
  MarkSeenForDocument,
  MarkUnseenDocument,
  MyNotificationsDocument,
  NotificationStatusDocument,
  NotificationsForDocument,
  OpenInboxDocument,
  PublicNotificationsDocument,
  RecallNotificationDocument,
  SendNotificationDocument,
  SendNotificationsDocument,
  SetCategoryPreferenceDocument,
  StoredNotificationDocument,
  SnoozeDocument,
  TemplatesDocument,
  UnarchiveDocument,
  UnseenCountDocument,
  UnseenNotificationsDocument,
  UpdateNotificationDocument,
  UpsertCategoryDocument,
  UpsertTemplateDocument,
  ViewerDocument,
  CancelNotificationDocument,
  CreateWebhookDocument,
  DeleteWebhookDocument,
  WebhooksDocument,
  TopicsDocument,
  TopicMembersDocument,
  SubscribeToTopicDocument,
  UnsubscribeFromTopicDocument,
  AddTopicMembersDocument,
  RemoveTopicMembersDocument,
} from '../client/graphql.js';
import { createApiKey, revokeApiKey } from '../src/auth/api-keys.js';
import { schema } from '../src/schema/index.js';
import { ADMIN, SERVICE, ok, run, send, subscribe, upsertCategory } from './helpers/operations.js';
import {
  TEST_API_KEY,
  TEST_JWT_SECRET,
  startTestServer,
  type Auth,
  type TestServer,
} from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';
import type { Stream } from './helpers/stream.js';

// Who may do what, for every query and mutation in schema.graphql: users read their own inbox
// (admins are users too), only services send, only admins manage categories and templates,
// categories are readable by users and services, templates by admins and services. Refused
// credentials are UNAUTHENTICATED whatever they ask for.

let server: TestServer;
const database = () => server.app.services.database;

type Caller = 'anonymous' | 'user' | 'admin' | 'service' | 'revokedKey' | 'expiredToken';
const CALLERS: Caller[] = ['anonymous', 'user', 'admin', 'service', 'revokedKey', 'expiredToken'];
const auths = {} as Record<Caller, Auth | undefined>;

/** A notification of Carol's whose content must never reach anyone else. */
const SECRET = { title: 'Carol: termination letter', body: 'strictly confidential' };
const LEAKS = /termination|confidential|carol/i;

/** Ids the inbox mutations act on: public, so both the user and the admin user may. */
const ids = {
  publicNotification: '',
  publicRequireAck: '',
  supportCase: '',
  doomed: '',
  edited: '',
};
/** What recallNotification acts on: one per caller, each taken as its case runs. */
const recallable: string[] = [];
/** Scheduled sends cancelNotification acts on, likewise. */
const cancellable: string[] = [];
/** Webhooks of the test's service (env-key-1) that deleteWebhook's allowed callers delete, in turn. */
const doomedWebhooks: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'general' });
  await upsertCategory(server, { name: 'consent', requireAck: true });
  ids.publicNotification = (
    await send(server, { category: 'general', public: true, title: 'Maintenance' })
  ).notification.id;
  ids.publicRequireAck = (
    await send(server, { category: 'consent', public: true, title: 'New terms' })
  ).notification.id;
  await send(server, { category: 'general', recipientIds: ['carol'], ...SECRET });
  // What support looks at (an admin sees any notification: not Carol's, which every answer here
  // must keep to herself) and what its deletions act on, which only an admin's call may remove.
  ids.supportCase = (
    await send(server, { category: 'general', recipientIds: ['frank'], title: 'Support case' })
  ).notification.id;
  ids.doomed = (
    await send(server, { category: 'general', recipientIds: ['dora'], title: 'Doomed' })
  ).notification.id;
  // What the sender (the test key's service) changes and takes back; admins may too.
  ids.edited = (
    await send(server, { category: 'general', recipientIds: ['gina'], title: 'Edited' })
  ).notification.id;
  for (const _caller of CALLERS) {
    const sent = await send(server, {
      category: 'general',
      recipientIds: ['gina'],
      title: 'Recalled',
    });
    recallable.push(sent.notification.id);
    const scheduled = await send(server, {
      category: 'general',
      recipientIds: ['gina'],
      title: 'Cancelled',
      sendAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    cancellable.push(scheduled.notification.id);
  }
  await upsertCategory(server, { name: 'doomed-category' });
  await database().template.create({ data: { key: 'doomed-template', title: 'Bye' } });
  // UNACKNOWLEDGED only (no category here escalates): no delivery is queued or tried in the
  // background while the matrix compares every table.
  for (const service of ['env-key-1', 'env-key-1', 'another-service']) {
    const webhook = await database().webhook.create({
      data: {
        service,
        url: 'https://93.184.215.14/hooks',
        events: ['UNACKNOWLEDGED'],
        secret: 'whsec_AAAA',
      },
    });
    if (service === 'env-key-1') doomedWebhooks.push(webhook.id);
  }

  // Topics: alice is in one, others in another that only services may read the members of.
  await database().topic.create({
    data: {
      name: 'matrix-news',
      memberCount: 2,
      members: { create: [{ userId: 'alice' }, { userId: 'dave' }] },
    },
  });
  await database().topic.create({
    data: { name: 'matrix-staff', memberCount: 1, members: { create: [{ userId: 'erin' }] } },
  });

  const revokedKey = await createApiKey(database(), 'retired-service');
  await revokeApiKey(database(), 'retired-service');
  const expiredToken = await new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

  Object.assign(auths, {
    anonymous: undefined,
    user: 'alice',
    admin: ADMIN,
    service: SERVICE,
    revokedKey: { apiKey: revokedKey },
    expiredToken: { headers: { authorization: `Bearer ${expiredToken}` } },
  } satisfies Record<Caller, Auth | undefined>);
});
afterAll(() => server.stop());

/** What a denied mutation must leave untouched: every row of every table. */
const snapshot = () => snapshotTables(server.databaseUrl);

/** The user id behind a caller that is a user. */
const USER_IDS: Partial<Record<Caller, string>> = { user: 'alice', admin: 'admin' };
function userIdOf(caller: Caller): string {
  const userId = USER_IDS[caller];
  if (!userId) throw new Error(`${caller} is not a user`);
  return userId;
}

/** Ids of the notifications `userId` may see: public ones and those sent to them. */
async function visibleTo(userId: string): Promise<string[]> {
  const rows = await database().notification.findMany({
    where: { OR: [{ public: true }, { receipts: { some: { userId } } }] },
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

async function expectOnlyVisible(caller: Caller, ids: string[]) {
  const visible = await visibleTo(userIdOf(caller));
  expect(ids.filter((id) => !visible.includes(id))).toEqual([]);
}

interface Response {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

type Outcome = 'allowed' | 'UNAUTHENTICATED' | 'FORBIDDEN';
const A = 'allowed';
const U = 'UNAUTHENTICATED';
const F = 'FORBIDDEN';

interface Operation {
  field: string;
  kind: 'query' | 'mutation';
  request: (auth: Auth | undefined) => Promise<Response>;
  expected: Record<Caller, Outcome>;
  /** What an allowed caller's answer must be: their own data and nothing of anyone else's. */
  check: (data: Record<string, unknown>, caller: Caller) => Promise<void>;
}

const operation = <R extends Record<string, unknown>, V extends Record<string, unknown>>(
  field: string,
  kind: Operation['kind'],
  document: TypedDocumentNode<R, V>,
  variables: () => V,
  expected: Record<Caller, Outcome>,
  check: (data: R, caller: Caller, variables: V) => Promise<void>,
): Operation => {
  // Variables are read when the case runs: the ids they use exist only after beforeAll.
  let sent: V;
  return {
    field,
    kind,
    request: (auth) => run(server, document, (sent = variables()), auth),
    expected,
    check: (data, caller) => check(data as R, caller, sent),
  };
};

//                      anonymous  user  admin  service  revokedKey  expiredToken
const row = (
  anonymous: Outcome,
  user: Outcome,
  admin: Outcome,
  service: Outcome,
  revokedKey: Outcome,
  expiredToken: Outcome,
) => ({ anonymous, user, admin, service, revokedKey, expiredToken });

const OPERATIONS: Operation[] = [
  operation(
    'categories',
    'query',
    CategoriesDocument,
    () => ({}),
    row(U, A, A, A, U, U),
    async (data) => {
      const stored = await database().category.findMany({ orderBy: { name: 'asc' } });
      expect(data.categories.map((c) => c.name).sort()).toEqual(stored.map((c) => c.name));
    },
  ),
  operation(
    'templates',
    'query',
    TemplatesDocument,
    () => ({}),
    row(U, F, A, A, U, U),
    async (data) => {
      const stored = await database().template.findMany({ orderBy: { key: 'asc' } });
      expect(data.templates.map((t) => t.key).sort()).toEqual(stored.map((t) => t.key));
    },
  ),
  operation(
    'unseenNotifications',
    'query',
    UnseenNotificationsDocument,
    () => ({ limit: 1000 }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      const ids = data.unseenNotifications.map((n) => n.id);
      await expectOnlyVisible(caller, ids);
      const { unseenCount } = await ok(server, UnseenCountDocument, {}, auths[caller]);
      expect(ids).toHaveLength(unseenCount);
    },
  ),
  operation(
    'unseenCount',
    'query',
    UnseenCountDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      // The caller's own count: as long as the caller's own list, which shows only theirs.
      const own = await ok(server, UnseenNotificationsDocument, { limit: 1000 }, auths[caller]);
      await expectOnlyVisible(
        caller,
        own.unseenNotifications.map((n) => n.id),
      );
      expect(data.unseenCount).toBe(own.unseenNotifications.length);
    },
  ),
  operation(
    'notifications',
    'query',
    HistoryDocument,
    () => ({ first: 100 }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      const ids = data.notifications.edges.map((edge) => edge.node.id);
      expect(ids.length).toBeGreaterThan(0);
      await expectOnlyVisible(caller, ids);
    },
  ),
  operation(
    'inbox',
    'query',
    OpenInboxDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      const ids = data.inbox.notifications.map((n) => n.id);
      await expectOnlyVisible(caller, ids);
      expect(data.inbox.unseenCount).toBe(ids.length);
      expect(data.inbox.counts.reduce((sum, count) => sum + count.unseen, 0)).toBe(ids.length);
    },
  ),
  operation(
    'eventCursor',
    'query',
    EventCursorDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data) => expect(data.eventCursor).toEqual(expect.any(String)),
  ),
  operation(
    'viewer',
    'query',
    ViewerDocument,
    () => ({}),
    row(A, A, A, A, U, U),
    async (data, caller) => {
      const expected = {
        anonymous: { kind: 'ANONYMOUS', id: null },
        user: { kind: 'USER', id: 'alice' },
        admin: { kind: 'USER', id: 'admin' },
        service: { kind: 'SERVICE', id: 'env-key-1' },
      }[caller as 'anonymous' | 'user' | 'admin' | 'service'];
      expect(data.viewer).toMatchObject(expected);
    },
  ),
  operation(
    'categoryPreferences',
    'query',
    CategoryPreferencesDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      const own = await database().preference.findMany({ where: { userId: userIdOf(caller) } });
      expect(data.categoryPreferences.map((p) => [p.category, p.muted]).sort()).toEqual(
        own.map((p) => [p.categoryName, p.muted]).sort(),
      );
    },
  ),
  operation(
    'upsertCategory',
    'mutation',
    UpsertCategoryDocument,
    () => ({ input: { name: 'matrix-category', requireAck: true } }),
    row(U, F, A, F, U, U),
    async (data, _caller, { input }) => expect(data.upsertCategory).toMatchObject(input),
  ),
  operation(
    'upsertTemplate',
    'mutation',
    UpsertTemplateDocument,
    () => ({ input: { key: 'matrix-template', title: 'Hello {{name}}' } }),
    row(U, F, A, F, U, U),
    async (data, _caller, { input }) => expect(data.upsertTemplate).toMatchObject(input),
  ),
  operation(
    'sendNotification',
    'mutation',
    SendNotificationDocument,
    () => ({ input: { category: 'general', recipientIds: ['dave'], title: 'From the matrix' } }),
    row(U, F, F, A, U, U),
    async (data) => {
      expect(data.sendNotification.recipientCount).toBe(1);
      const receipts = await database().receipt.findMany({
        where: { notificationId: data.sendNotification.notification.id },
      });
      expect(receipts.map((r) => r.userId)).toEqual(['dave']);
    },
  ),
  operation(
    'sendNotifications',
    'mutation',
    SendNotificationsDocument,
    () => ({
      inputs: [
        { category: 'general', recipientIds: ['dave'], title: 'Batch one' },
        { category: 'general', recipientIds: ['erin', 'dave'], title: 'Batch two' },
      ],
    }),
    row(U, F, F, A, U, U),
    async (data) => {
      expect(data.sendNotifications.map((result) => result.recipientCount)).toEqual([1, 2]);
      const receipts = await database().receipt.findMany({
        where: { notificationId: { in: data.sendNotifications.map((r) => r.notification.id) } },
        orderBy: [{ notificationId: 'asc' }, { userId: 'asc' }],
      });
      expect(receipts).toHaveLength(3);
    },
  ),
  // A sender changes or takes back what it sent; admins anything; users are FORBIDDEN.
  operation(
    'updateNotification',
    'mutation',
    UpdateNotificationDocument,
    () => ({ id: ids.edited, input: { title: 'Edited again', body: 'new words' } }),
    row(U, F, A, A, U, U),
    async (data) => {
      expect(data.updateNotification).toMatchObject({ id: ids.edited, title: 'Edited again' });
      const stored = await database().notification.findUniqueOrThrow({ where: { id: ids.edited } });
      expect([stored.title, stored.body, stored.editedAt]).toEqual([
        'Edited again',
        'new words',
        expect.any(Date),
      ]);
    },
  ),
  operation(
    'recallNotification',
    'mutation',
    RecallNotificationDocument,
    () => ({ id: recallable.shift()! }),
    row(U, F, A, A, U, U),
    async (data, _caller, { id }) => {
      expect(data.recallNotification).toBe(id);
      expect(await database().notification.count({ where: { id } })).toBe(0);
    },
  ),
  operation(
    'cancelNotification',
    'mutation',
    CancelNotificationDocument,
    () => ({ id: cancellable.shift()! }),
    row(U, F, A, A, U, U),
    async (data, _caller, { id }) => {
      expect(data.cancelNotification).toMatchObject({ id, cancelled: true });
      expect(await database().scheduledSend.count({ where: { id } })).toBe(0);
    },
  ),
  operation(
    'markSeen',
    'mutation',
    MarkSeenDocument,
    () => ({ ids: [ids.publicNotification] }),
    row(U, A, A, F, U, U),
    async (data, caller, variables) => {
      expect(data.markSeen.map((n) => n.id)).toEqual(variables.ids);
      const receipt = await database().receipt.findUnique({
        where: {
          userId_notificationId: {
            userId: userIdOf(caller),
            notificationId: ids.publicNotification,
          },
        },
      });
      expect(receipt?.seenAt).not.toBeNull();
    },
  ),
  operation(
    'setCategoryPreference',
    'mutation',
    SetCategoryPreferenceDocument,
    () => ({ category: 'general', muted: false }),
    row(U, A, A, F, U, U),
    async (data, caller, { category, muted }) => {
      expect(data.setCategoryPreference).toEqual({ category, muted });
      const own = await database().preference.findMany({ where: { userId: userIdOf(caller) } });
      expect(own.map((p) => [p.categoryName, p.muted])).toEqual([[category, muted]]);
    },
  ),
  operation(
    'markAllSeen',
    'mutation',
    MarkAllSeenDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(data.markAllSeen).toBeLessThanOrEqual((await visibleTo(userIdOf(caller))).length);
    },
  ),
  operation(
    'acknowledge',
    'mutation',
    AcknowledgeDocument,
    () => ({ id: ids.publicRequireAck }),
    row(U, A, A, F, U, U),
    async (data, _caller, variables) => {
      expect(data.acknowledge.id).toBe(variables.id);
      expect(data.acknowledge.acknowledgedAt).not.toBeNull();
    },
  ),
  // Support (admins only): a service or a user is FORBIDDEN, as for managing categories.
  operation(
    'notification',
    'query',
    StoredNotificationDocument,
    () => ({ id: ids.supportCase }),
    row(U, F, A, F, U, U),
    async (data) => {
      expect(data.notification.id).toBe(ids.supportCase);
      expect(data.notification.receipts.nodes.map((r) => r.userId)).toEqual(['frank']);
    },
  ),
  operation(
    'notificationStatus',
    'query',
    NotificationStatusDocument,
    () => ({ id: ids.supportCase }),
    row(U, F, A, A, U, U),
    async (data) => {
      expect(data.notificationStatus).toMatchObject({ id: ids.supportCase, recipientCount: 1 });
      expect(data.notificationStatus.receipts.nodes.map((r) => r.userId)).toEqual(['frank']);
    },
  ),
  operation(
    'markSeenFor',
    'mutation',
    MarkSeenForDocument,
    () => ({ userId: 'frank', ids: [ids.supportCase] }),
    row(U, F, A, A, U, U),
    async (data) => {
      expect(data.markSeenFor).toEqual([{ id: ids.supportCase, seenAt: expect.any(String) }]);
      const receipt = await database().receipt.findUniqueOrThrow({
        where: { userId_notificationId: { userId: 'frank', notificationId: ids.supportCase } },
      });
      expect(receipt.seenAt).not.toBeNull();
    },
  ),
  operation(
    'notificationsFor',
    'query',
    NotificationsForDocument,
    () => ({ userId: 'dave', first: 100 }),
    row(U, F, A, F, U, U),
    async (data) => {
      const ids = data.notificationsFor.edges.map((edge) => edge.node.id);
      expect(ids.length).toBeGreaterThan(0);
      const daves = await visibleTo('dave');
      expect(ids.filter((id) => !daves.includes(id))).toEqual([]);
    },
  ),
  operation(
    'deleteNotification',
    'mutation',
    DeleteNotificationDocument,
    () => ({ id: ids.doomed }),
    row(U, F, A, F, U, U),
    async (data) => {
      expect(data.deleteNotification).toBe(ids.doomed);
      expect(await database().notification.count({ where: { id: ids.doomed } })).toBe(0);
    },
  ),
  operation(
    'deleteCategory',
    'mutation',
    DeleteCategoryDocument,
    () => ({ name: 'doomed-category' }),
    row(U, F, A, F, U, U),
    async (data) => {
      expect(data.deleteCategory).toEqual({ name: 'doomed-category' });
      expect(await database().category.count({ where: { name: 'doomed-category' } })).toBe(0);
    },
  ),
  operation(
    'deleteTemplate',
    'mutation',
    DeleteTemplateDocument,
    () => ({ key: 'doomed-template' }),
    row(U, F, A, F, U, U),
    async (data) => {
      expect(data.deleteTemplate).toEqual({ key: 'doomed-template' });
      expect(await database().template.count({ where: { key: 'doomed-template' } })).toBe(0);
    },
  ),
  operation(
    'markUnseen',
    'mutation',
    MarkUnseenDocument,
    () => ({ ids: [ids.publicNotification] }),
    row(U, A, A, F, U, U),
    async (data, caller, variables) => {
      expect(data.markUnseen.map((n) => [n.id, n.seenAt])).toEqual([[variables.ids[0], null]]);
      expect((await ownReceipt(caller, ids.publicNotification))?.seenAt).toBeNull();
    },
  ),
  operation(
    'snooze',
    'mutation',
    SnoozeDocument,
    () => ({ id: ids.publicNotification, until: new Date(Date.now() + 3_600_000).toISOString() }),
    row(U, A, A, F, U, U),
    async (data, caller, variables) => {
      expect(data.snooze.snoozedUntil).toBe(variables.until);
      expect((await ownReceipt(caller, ids.publicNotification))?.snoozedUntil?.toISOString()).toBe(
        variables.until,
      );
    },
  ),
  operation(
    'archive',
    'mutation',
    ArchiveDocument,
    () => ({ ids: [ids.publicNotification] }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(data.archive[0]!.archivedAt).not.toBeNull();
      expect((await ownReceipt(caller, ids.publicNotification))?.archivedAt).not.toBeNull();
    },
  ),
  operation(
    'unarchive',
    'mutation',
    UnarchiveDocument,
    () => ({ ids: [ids.publicNotification] }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(data.unarchive[0]!.archivedAt).toBeNull();
      expect((await ownReceipt(caller, ids.publicNotification))?.archivedAt).toBeNull();
    },
  ),
  operation(
    'archiveAll',
    'mutation',
    ArchiveAllDocument,
    () => ({}),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(data.archiveAll).toBeLessThanOrEqual((await visibleTo(userIdOf(caller))).length);
      // The caller's own archive moved, and no one else's (alice and admin are the callers).
      const positions = await database().archivePosition.findMany();
      expect(positions.every((p) => ['alice', 'admin'].includes(p.userId))).toBe(true);
      expect(positions.some((p) => p.userId === userIdOf(caller))).toBe(true);
    },
  ),
  operation(
    'webhooks',
    'query',
    WebhooksDocument,
    () => ({}),
    row(U, F, A, A, U, U),
    async (data, caller) => {
      const stored = await database().webhook.findMany({
        where: caller === 'service' ? { service: 'env-key-1' } : {},
      });
      expect(data.webhooks.map((w) => w.id).sort()).toEqual(stored.map((w) => w.id).sort());
      if (caller === 'service')
        expect(stored.length).toBeLessThan(await database().webhook.count());
    },
  ),
  operation(
    'createWebhook',
    'mutation',
    CreateWebhookDocument,
    () => ({ input: { url: 'https://93.184.215.14/matrix', events: ['UNACKNOWLEDGED' as const] } }),
    row(U, F, F, A, U, U),
    async (data) => {
      expect(data.createWebhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
      expect(data.createWebhook.webhook).toMatchObject({
        service: 'env-key-1',
        url: 'https://93.184.215.14/matrix',
        events: ['UNACKNOWLEDGED'],
        categories: null,
      });
    },
  ),
  operation(
    'deleteWebhook',
    'mutation',
    DeleteWebhookDocument,
    () => ({ id: doomedWebhooks[0]! }),
    row(U, F, A, A, U, U),
    async (data, _caller, { id }) => {
      expect(data.deleteWebhook).toBe(true);
      expect(await database().webhook.count({ where: { id } })).toBe(0);
      doomedWebhooks.shift();
    },
  ), // Users join and leave topics themselves; services manage and read every topic's members.
  operation(
    'topics',
    'query',
    TopicsDocument,
    () => ({ first: 100 }),
    row(U, A, A, A, U, U),
    async (data, caller) => {
      const names = data.topics.nodes.map((topic) => topic.name);
      if (caller === 'service') {
        const stored = await database().topic.findMany({ orderBy: { name: 'asc' } });
        expect(data.topics.nodes).toEqual(
          stored.map((topic) => ({ name: topic.name, memberCount: topic.memberCount })),
        );
        return;
      }
      const own = await database().topicMember.findMany({ where: { userId: userIdOf(caller) } });
      expect(names).toEqual(own.map((member) => member.topic).sort());
      expect(data.topics.nodes.every((topic) => topic.memberCount === null)).toBe(true);
    },
  ),
  operation(
    'topicMembers',
    'query',
    TopicMembersDocument,
    () => ({ topic: 'matrix-news' }),
    // Support (admins) asks who is in a topic to answer "why did this user not get that?".
    row(U, F, A, A, U, U),
    async (data) => {
      const stored = await database().topicMember.findMany({ where: { topic: 'matrix-news' } });
      expect(data.topicMembers.userIds).toEqual(stored.map((member) => member.userId).sort());
    },
  ),
  operation(
    'subscribeToTopic',
    'mutation',
    SubscribeToTopicDocument,
    () => ({ topic: 'matrix-joined' }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(data.subscribeToTopic).toBe(true);
      const members = await database().topicMember.findMany({ where: { topic: 'matrix-joined' } });
      expect(members.map((member) => member.userId)).toContain(userIdOf(caller));
    },
  ),
  operation(
    'unsubscribeFromTopic',
    'mutation',
    UnsubscribeFromTopicDocument,
    () => ({ topic: 'matrix-news' }),
    row(U, A, A, F, U, U),
    async (data, caller) => {
      expect(typeof data.unsubscribeFromTopic).toBe('boolean');
      const left = await database().topicMember.findMany({
        where: { topic: 'matrix-news', userId: userIdOf(caller) },
      });
      expect(left).toEqual([]);
      // Only the caller left: dave is still in it.
      expect(
        await database().topicMember.count({ where: { topic: 'matrix-news', userId: 'dave' } }),
      ).toBe(1);
    },
  ),
  operation(
    'addTopicMembers',
    'mutation',
    AddTopicMembersDocument,
    () => ({ topic: 'matrix-staff', userIds: ['frank'] }),
    row(U, F, F, A, U, U),
    async (data) => {
      expect(data.addTopicMembers).toEqual({ changed: 1, memberCount: 2 });
    },
  ),
  operation(
    'removeTopicMembers',
    'mutation',
    RemoveTopicMembersDocument,
    () => ({ topic: 'matrix-staff', userIds: ['erin'] }),
    row(U, F, F, A, U, U),
    async (data) => {
      expect(data.removeTopicMembers.changed).toBe(1);
      expect(
        await database().topicMember.count({ where: { topic: 'matrix-staff', userId: 'erin' } }),
      ).toBe(0);
    },
  ),
];

/** The caller's own receipt of a notification. */
const ownReceipt = (caller: Caller, notificationId: string) =>
  database().receipt.findUnique({
    where: { userId_notificationId: { userId: userIdOf(caller), notificationId } },
  });

describe('the operation list', () => {
  it('compares every table, those a request may write among them, when a call is denied', async () => {
    expect(Object.keys(await snapshot())).toEqual(
      expect.arrayContaining([
        'ApiKey',
        'ArchivePosition',
        'Category',
        'Connection',
        'Event',
        'IdempotencyKey',
        'Notification',
        'Preference',
        'Receipt',
        'Stream',
        'Template',
        'Topic',
        'TopicMember',
      ]),
    );
  });

  it('covers every field of Query and Mutation in the schema', () => {
    const fields = (kind: Operation['kind']) =>
      Object.keys(
        (kind === 'query' ? schema.getQueryType() : schema.getMutationType())!.getFields(),
      ).sort();
    const listed = (kind: Operation['kind']) =>
      OPERATIONS.filter((op) => op.kind === kind)
        .map((op) => op.field)
        .sort();
    expect(listed('query')).toEqual(fields('query'));
    expect(listed('mutation')).toEqual(fields('mutation'));
  });
});

const cases = OPERATIONS.flatMap((op) =>
  CALLERS.map((caller) => [op.kind, op.field, caller, op.expected[caller], op] as const),
);

describe.each(['query', 'mutation'] as const)('%s', (kind) => {
  it.each(cases.filter(([caseKind]) => caseKind === kind))(
    '%s %s by %s: %s',
    async (_kind, field, caller, outcome, op) => {
      const before = op.kind === 'mutation' && outcome !== A ? await snapshot() : undefined;
      const result = await op.request(auths[caller]);

      expect(JSON.stringify(result)).not.toMatch(LEAKS);
      if (outcome === A) {
        expect(result.errors).toBeUndefined();
        expect(result.data?.[field]).toBeDefined();
        expect(result.data?.[field]).not.toBeNull();
        await op.check(result.data!, caller);
        return;
      }
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual([outcome]);
      if (caller === 'revokedKey' || caller === 'expiredToken') {
        // The credentials themselves are refused: no field runs at all.
        expect(result.status).toBe(401);
        expect(result.data).toBeUndefined();
      } else {
        expect(result.data ?? null).toBeNull();
      }
      if (before) expect(await snapshot()).toEqual(before);
    },
  );
});

describe('what allowed callers get', () => {
  it('tells each caller who the server takes them to be', async () => {
    const viewer = async (caller: Caller) =>
      (await ok(server, ViewerDocument, {}, auths[caller])).viewer;
    expect(await viewer('anonymous')).toEqual({ kind: 'ANONYMOUS', id: null, admin: false });
    expect(await viewer('user')).toEqual({ kind: 'USER', id: 'alice', admin: false });
    expect(await viewer('admin')).toEqual({ kind: 'USER', id: 'admin', admin: true });
    expect(await viewer('service')).toEqual({ kind: 'SERVICE', id: 'env-key-1', admin: false });
  });

  it("never shows a user or an admin another user's private notification", async () => {
    for (const caller of ['user', 'admin'] as const) {
      const history = await ok(server, HistoryDocument, { first: 100 }, auths[caller]);
      expect(JSON.stringify(history)).not.toMatch(LEAKS);
      const inbox = await ok(server, UnseenNotificationsDocument, { limit: 1000 }, auths[caller]);
      expect(JSON.stringify(inbox)).not.toMatch(LEAKS);
    }
    const carols = await ok(server, UnseenNotificationsDocument, {}, 'carol');
    expect(carols.unseenNotifications.map((n) => n.title)).toContain(SECRET.title);
  });

  it("answers NOT_FOUND, naming nothing of Carol's, when others act on her notification", async () => {
    const [carols] = await database().notification.findMany({ where: { title: SECRET.title } });
    for (const caller of ['user', 'admin'] as const) {
      for (const result of [
        await run(server, MarkSeenDocument, { ids: [carols!.id] }, auths[caller]),
        await run(server, AcknowledgeDocument, { id: carols!.id }, auths[caller]),
      ]) {
        expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(JSON.stringify(result)).not.toMatch(LEAKS);
      }
    }
    const receipts = await database().receipt.findMany({ where: { notificationId: carols!.id } });
    expect(receipts.map((r) => [r.userId, r.seenAt, r.acknowledgedAt])).toEqual([
      ['carol', null, null],
    ]);
  });
});

describe('subscriptions over graphql-ws', () => {
  /** The code of the error a refused subscription ends with, however graphql-ws carries it. */
  async function refusal<T>(stream: Stream<T>) {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const errors =
        stream.results.find((result) => result.errors)?.errors ??
        (Array.isArray(stream.error) ? stream.error : undefined);
      if (errors) {
        expect(stream.results.every((result) => result.data == null)).toBe(true);
        expect(JSON.stringify(errors)).not.toMatch(LEAKS);
        return (errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);
      }
      if (stream.error) throw new Error(`unexpected error: ${JSON.stringify(stream.error)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the subscription was neither refused nor answered');
  }

  it('lets a signed-in user follow myNotifications', async () => {
    const { eventCursor } = await ok(server, EventCursorDocument, {}, 'erin');
    const client = server.wsClient({ authorization: `Bearer ${await server.token('erin')}` });
    const stream = subscribe(client, MyNotificationsDocument, { after: eventCursor });
    const sent = await send(server, { category: 'general', recipientIds: ['erin'], title: 'Hi' });
    const [event] = await stream.waitForCount(1);
    expect(event!.errors).toBeUndefined();
    expect(event!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      notification: { id: sent.notification.id, title: 'Hi' },
    });
    stream.close();
  });

  const subscriptions: [string, (client: Client) => Stream<unknown>][] = [
    ['myNotifications', (client: Client) => subscribe(client, MyNotificationsDocument, {})],
    ['publicNotifications', (client: Client) => subscribe(client, PublicNotificationsDocument, {})],
  ];

  it.each(subscriptions)(
    'refuses %s to an anonymous connection with UNAUTHENTICATED',
    async (_field, start) => {
      expect(await refusal(start(server.wsClient()))).toEqual(['UNAUTHENTICATED']);
    },
  );

  it.each(subscriptions)('refuses %s to a service with FORBIDDEN', async (_field, start) => {
    const client = server.wsClient({ apiKey: TEST_API_KEY });
    const viewer = await new Promise((resolve, reject) => {
      client.subscribe(
        { query: '{ viewer { kind id } }' },
        { next: resolve, error: reject, complete: () => {} },
      );
    });
    // The key must be taken over graphql-ws as it is over HTTP, or FORBIDDEN cannot be reached.
    expect(viewer).toEqual({ data: { viewer: { kind: 'SERVICE', id: 'env-key-1' } } });
    expect(await refusal(start(client))).toEqual(['FORBIDDEN']);
  });
});
