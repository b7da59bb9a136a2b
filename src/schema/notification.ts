import { DomainError } from '../errors.js';
import { currentCursor, encodeCursor } from '../notifications/event-log.js';
import { history, unseenCount, unseenNotifications } from '../notifications/inbox.js';
import { acknowledge, markAllSeen, markSeen, markUnseen } from '../notifications/receipts.js';
import type { NotificationView } from '../notifications/types.js';
import { builder } from './builder.js';
import { NotificationPriorityEnum } from './category.js';
import { NotificationFilterInput, filterOf } from './notification-filter.js';
import { readSnapshot, readSource } from './read-snapshot.js';
import { userOf } from './viewer-of.js';

export const NotificationRef = builder.objectRef<NotificationView>('Notification').implement({
  description: 'A notification as the caller sees it; seenAt and acknowledgedAt are their own.',
  fields: (t) => ({
    id: t.exposeID('id'),
    category: t.exposeString('categoryName'),
    priority: t.expose('priority', { type: NotificationPriorityEnum }),
    title: t.exposeString('title'),
    body: t.exposeString('body', { nullable: true }),
    data: t.expose('data', { type: 'JSON', nullable: true }),
    icon: t.exposeString('icon', { nullable: true }),
    actionUrl: t.exposeString('actionUrl', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    deleteAt: t.expose('deleteAt', { type: 'DateTime' }),
    requireAck: t.exposeBoolean('requireAck'),
    public: t.exposeBoolean('public'),
    seenAt: t.expose('seenAt', { type: 'DateTime', nullable: true }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true }),
    archivedAt: t.expose('archivedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When you archived it (archive or archiveAll); null: not archived.',
    }),
    snoozedUntil: t.expose('snoozedUntil', {
      type: 'DateTime',
      nullable: true,
      description: 'Snoozed until then: hidden from your unseen list and count until it is back.',
    }),
    groupKey: t.exposeString('groupKey', {
      nullable: true,
      description: 'The thread it was sent in (SendNotificationInput.groupKey).',
    }),
    groupCount: t.int({
      description:
        'How many notifications of its group it stands for in your inbox: 1, or the one it folded plus one.',
      resolve: (view) => view.groupCount ?? 1,
    }),
    updatedAt: t.field({
      type: 'DateTime',
      description:
        'When it (its content: see editedAt) or your own state of it last changed; createdAt until then, never null.',
      resolve: (view) =>
        latest([view.createdAt, view.editedAt, view.updatedAt, view.seenAt, view.archivedAt]),
    }),
    editedAt: t.expose('editedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When its sender last changed its content (updateNotification); null: never changed.',
    }),
  }),
});

const latest = (dates: (Date | null)[]) =>
  new Date(Math.max(...dates.flatMap((date) => (date ? [date.getTime()] : []))));

interface NotificationPage<T extends NotificationView = NotificationView> {
  items: T[];
  hasNextPage: boolean;
}

const NotificationEdge = builder.objectRef<NotificationView>('NotificationEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (view) => view.seq.toString() }),
    node: t.field({ type: NotificationRef, resolve: (view) => view }),
  }),
});

/** Where a page ends; endCursor is what `after` takes for the next one. */
export const PageInfo = builder
  .objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo')
  .implement({
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

/** The PageInfo of a page of notifications, whose cursors are their seq. */
export const notificationPageInfo = ({ items, hasNextPage }: NotificationPage) => ({
  hasNextPage,
  endCursor: items.at(-1)?.seq.toString() ?? null,
});

const NotificationConnection = builder
  .objectRef<NotificationPage>('NotificationConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [NotificationEdge], resolve: (page) => page.items }),
      nodes: t.field({ type: [NotificationRef], resolve: (page) => page.items }),
      pageInfo: t.field({ type: PageInfo, resolve: notificationPageInfo }),
    }),
  });

export const limitArg = (max: number, fallback: number, value: number | null | undefined) => {
  const limit = value ?? fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new DomainError('BAD_USER_INPUT', `must be between 1 and ${max}`);
  }
  return limit;
};

/**
 * A page of a history, newest first, `first` (at most 100) after the cursor `after`: `read` is
 * asked for one more, which tells whether another page follows.
 */
export async function historyPage<T extends NotificationView>(
  first: number | null | undefined,
  after: string | null | undefined,
  read: (limit: number, beforeSeq: bigint | null) => Promise<T[]>,
): Promise<NotificationPage<T>> {
  const limit = limitArg(100, 20, first);
  if (after != null && !/^\d{1,18}$/.test(after)) {
    throw new DomainError('BAD_USER_INPUT', 'after is not a cursor this server issued');
  }
  const items = await read(limit + 1, after == null ? null : BigInt(after));
  return { items: items.slice(0, limit), hasNextPage: items.length > limit };
}

builder.queryFields((t) => ({
  unseenNotifications: t.field({
    type: [NotificationRef],
    description:
      'Not expired and not seen, plus seen but unacknowledged require-ack ones; newest first. Ask for it when connecting.',
    authScopes: { user: true },
    args: {
      limit: t.arg.int({ defaultValue: 200, description: 'At most 1000.' }),
      filter: t.arg({ type: NotificationFilterInput }),
    },
    resolve: async (_root, { limit, filter }, context) =>
      unseenNotifications(
        await readSnapshot(context),
        userOf(context),
        limitArg(1000, 200, limit),
        filterOf(filter),
      ),
  }),
  unseenCount: t.int({
    description: 'How many unseenNotifications there are (with the same filter).',
    authScopes: { user: true },
    args: { filter: t.arg({ type: NotificationFilterInput }) },
    resolve: async (_root, { filter }, context) =>
      unseenCount(await readSnapshot(context), userOf(context), filterOf(filter)),
  }),
  notifications: t.field({
    type: NotificationConnection,
    description:
      "The caller's whole history, seen and archived ones too (or what filter matches), newest first.",
    authScopes: { user: true },
    args: {
      first: t.arg.int({ defaultValue: 20, description: 'At most 100.' }),
      after: t.arg.string({ description: 'endCursor of the previous page.' }),
      filter: t.arg({ type: NotificationFilterInput }),
    },
    resolve: (_root, { first, after, filter }, context) =>
      historyPage(first, after, async (limit, beforeSeq) =>
        history(
          (await readSource(context)).database,
          userOf(context),
          limit,
          beforeSeq,
          filterOf(filter),
        ),
      ),
  }),
  eventCursor: t.string({
    description:
      'Where the event stream stands now. Read it with unseenNotifications, then subscribe to myNotifications(after:) with it to miss nothing in between.',
    authScopes: { user: true },
    resolve: async (_root, _args, context) =>
      encodeCursor(await currentCursor(await readSnapshot(context), userOf(context))),
  }),
}));

builder.mutationFields((t) => ({
  markSeen: t.field({
    type: [NotificationRef],
    description: 'Marks notifications seen; all or none (NOT_FOUND if one is not yours).',
    authScopes: { user: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, { ids }, context) =>
      markSeen(context.services, userOf(context), ids.map(String)),
  }),
  markUnseen: t.field({
    type: [NotificationRef],
    description:
      'Marks notifications unseen again: they are counted again; all or none (NOT_FOUND if one is not yours).',
    authScopes: { user: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, { ids }, context) =>
      markUnseen(context.services, userOf(context), ids.map(String)),
  }),
  markAllSeen: t.int({
    description: 'Marks every unseen notification seen; returns how many.',
    authScopes: { user: true },
    resolve: (_root, _args, context) => markAllSeen(context.services, userOf(context)),
  }),
  acknowledge: t.field({
    type: NotificationRef,
    description: 'Acknowledges a notification whose category requires it (and marks it seen).',
    authScopes: { user: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, context) => acknowledge(context.services, userOf(context), String(id)),
  }),
}));
