import type { Receipt as ReceiptRow } from '../generated/prisma/client.js';
import type { NotificationRecord } from '../notifications/types.js';
import { unseenCount } from '../notifications/inbox.js';
import { categoryPreferences } from '../notifications/preferences.js';
import { deleteNotificationNow } from '../notifications/retention.js';
import { receiptsOf } from '../notifications/delivery-status.js';
import {
  historyAsSeenBy,
  storedNotification,
  type ExplainedView,
} from '../notifications/support.js';
import { isExpired } from '../notifications/types.js';
import { isNotificationId } from '../notifications/validation.js';
import { DomainError } from '../errors.js';
import { builder, type SchemaTypesOf } from './builder.js';
import { NotificationPriorityEnum } from './category.js';
import {
  NotificationRef,
  PageInfo,
  historyPage,
  limitArg,
  notificationPageInfo,
} from './notification.js';

// Support queries for admins: "why did this user not get that?" (README, "Support").

const Receipt = builder.prismaObject('Receipt', {
  description: "One user's receipt of a notification: what they did with it, and when.",
  fields: (t) => ({
    userId: t.exposeString('userId'),
    seenAt: t.expose('seenAt', { type: 'DateTime', nullable: true }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true }),
  }),
});

interface ReceiptPage {
  items: ReceiptRow[];
  hasNextPage: boolean;
}

const ReceiptConnection = builder.objectRef<ReceiptPage>('ReceiptConnection').implement({
  fields: (t) => ({
    nodes: t.field({ type: [Receipt], resolve: (page) => page.items }),
    pageInfo: t.field({
      type: PageInfo,
      resolve: ({ items, hasNextPage }) => ({
        hasNextPage,
        endCursor: items.at(-1)?.userId ?? null,
      }),
    }),
  }),
});

const ReceiptFilterInput = builder.inputType('ReceiptFilter', {
  description: 'Receipts by what their user did; a field left out does not filter.',
  fields: (t) => ({
    seen: t.boolean({ description: 'true: seen (or acknowledged); false: not seen.' }),
    acknowledged: t.boolean(),
  }),
});

/** The receipts field of a notification (support's and the sender's view alike). */
export const receiptsField = <Parent extends { id: string }>(
  t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypesOf<typeof builder>, Parent>,
) =>
  t.field({
    type: ReceiptConnection,
    description:
      'By user id. A private notification has one per recipient; a public one only for users who marked it seen or acknowledged it (markAllSeen moves their position instead).',
    args: {
      first: t.arg.int({ defaultValue: 50, description: 'At most 500.' }),
      after: t.arg.string({ description: 'endCursor of the previous page (a user id).' }),
      filter: t.arg({ type: ReceiptFilterInput }),
    },
    resolve: async (notification, { first, after, filter }, { services }) => {
      const limit = limitArg(500, 50, first);
      const items = await receiptsOf(
        services.database,
        notification.id,
        limit + 1,
        after ?? null,
        filter ?? {},
      );
      return { items: items.slice(0, limit), hasNextPage: items.length > limit };
    },
  });

const StoredNotification = builder.objectRef<NotificationRecord>('StoredNotification').implement({
  description: 'A notification as it was sent and stored, with its receipts: for support.',
  fields: (t) => ({
    id: t.exposeID('id'),
    category: t.exposeString('categoryName'),
    priority: t.expose('priority', { type: NotificationPriorityEnum }),
    title: t.exposeString('title'),
    body: t.exposeString('body', { nullable: true }),
    data: t.expose('data', { type: 'JSON', nullable: true }),
    public: t.exposeBoolean('public'),
    requireAck: t.exposeBoolean('requireAck'),
    sender: t.exposeString('sender', { description: 'The API key that sent it.' }),
    template: t.exposeString('templateKey', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    expired: t.boolean({
      description: 'Past expiresAt: no longer shown as unseen, counted or delivered as new.',
      resolve: (notification) => isExpired(notification),
    }),
    deleteAt: t.expose('deleteAt', { type: 'DateTime' }),
    receipts: receiptsField(t),
  }),
});

const ExplainedEdge = builder.objectRef<ExplainedView>('UserNotificationEdge').implement({
  description: 'A notification as the user sees it, with why it does or does not wait for them.',
  fields: (t) => ({
    cursor: t.string({ resolve: (view) => view.seq.toString() }),
    node: t.field({ type: NotificationRef, resolve: (view) => view }),
    expired: t.exposeBoolean('expired', { description: 'Past expiresAt: no longer shown as new.' }),
    muted: t.exposeBoolean('muted', {
      description: 'The user muted its category: not delivered live as new, not counted.',
    }),
    needsAttention: t.exposeBoolean('needsAttention', {
      description:
        'In their unseenNotifications and unseenCount: not expired, not muted, and unseen or awaiting an acknowledgement.',
    }),
  }),
});

interface UserNotifications {
  userId: string;
  items: ExplainedView[];
  hasNextPage: boolean;
}

const UserNotificationConnection = builder
  .objectRef<UserNotifications>('UserNotificationConnection')
  .implement({
    description: "A user's history as they see it (newest first), for support.",
    fields: (t) => ({
      edges: t.field({ type: [ExplainedEdge], resolve: (page) => page.items }),
      pageInfo: t.field({ type: PageInfo, resolve: notificationPageInfo }),
      unseenCount: t.int({
        description: 'What their badge shows now.',
        resolve: (page, _args, { services }) => unseenCount(services.database, page.userId),
      }),
      preferences: t.prismaField({
        type: ['Preference'],
        description: 'Their category choices (categories not listed are not muted).',
        resolve: (_query, page, _args, { services }) =>
          categoryPreferences(services.database, page.userId),
      }),
    }),
  });

builder.queryFields((t) => ({
  notification: t.field({
    type: StoredNotification,
    description: 'Any notification by id, as sent, with its receipts (admins). NOT_FOUND if none.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services }) => storedNotification(services.database, String(id)),
  }),
  notificationsFor: t.field({
    type: UserNotificationConnection,
    description:
      'What a user sees, as they see it, newest first (admins): their history, each with why it waits for them or not, their count and their mutes.',
    authScopes: { admin: true },
    args: {
      userId: t.arg.string({ required: true }),
      first: t.arg.int({ defaultValue: 20, description: 'At most 100.' }),
      after: t.arg.string({ description: 'endCursor of the previous page.' }),
    },
    resolve: async (_root, { userId, first, after }, { services }) => ({
      userId,
      ...(await historyPage(first, after, (limit, beforeSeq) =>
        historyAsSeenBy(services.database, userId, limit, beforeSeq),
      )),
    }),
  }),
}));

builder.mutationField('deleteNotification', (t) =>
  t.id({
    description:
      'Deletes a notification now, as the deletion job would (admins): open inboxes get DELETED. Answers its id; NOT_FOUND if none.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, { services }) => {
      const notificationId = String(id);
      const deleted =
        isNotificationId(notificationId) && (await deleteNotificationNow(services, notificationId));
      if (!deleted) throw new DomainError('NOT_FOUND', `no notification ${notificationId}`);
      return notificationId;
    },
  }),
);
