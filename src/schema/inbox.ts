import { archive, archiveAll, unarchive } from '../notifications/archive.js';
import { currentCursor, encodeCursor } from '../notifications/event-log.js';
import { unseenByCategory, unseenCount, unseenNotifications } from '../notifications/inbox.js';
import { snooze } from '../notifications/snooze.js';
import { builder } from './builder.js';
import { NotificationFilterInput, filterOf } from './notification-filter.js';
import { NotificationRef, limitArg } from './notification.js';
import { readSnapshot } from './read-snapshot.js';
import { userOf } from './viewer-of.js';

// The inbox as people manage it: what a client loads when it opens (one snapshot), dismissing
// (archive), clearing all, and snoozing.

interface CategoryCountShape {
  category: string;
  unseen: number;
}

const CategoryCount = builder.objectRef<CategoryCountShape>('CategoryCount').implement({
  description: 'How many notifications of one category need your attention: a tab and its badge.',
  fields: (t) => ({
    category: t.exposeString('category'),
    unseen: t.exposeInt('unseen'),
  }),
});

interface InboxShape {
  notifications: Awaited<ReturnType<typeof unseenNotifications>>;
  unseenCount: number;
  counts: CategoryCountShape[];
  cursor: string;
}

const Inbox = builder.objectRef<InboxShape>('Inbox').implement({
  description:
    'What a client loads when it opens, from one snapshot: then it subscribes with myNotifications(after: cursor).',
  fields: (t) => ({
    notifications: t.field({
      type: [NotificationRef],
      description: 'unseenNotifications with the filter, newest first.',
      resolve: (inbox) => inbox.notifications,
    }),
    unseenCount: t.exposeInt('unseenCount', { description: 'unseenCount with the filter.' }),
    counts: t.field({
      type: [CategoryCount],
      description: "Per category (every one, or the filter's): how many need your attention.",
      resolve: (inbox) => inbox.counts,
    }),
    cursor: t.exposeString('cursor', { description: 'Where the event stream stood.' }),
  }),
});

builder.queryField('inbox', (t) =>
  t.field({
    type: Inbox,
    description: 'Your inbox as it stands, list, counts and cursor from one snapshot.',
    authScopes: { user: true },
    args: {
      filter: t.arg({ type: NotificationFilterInput }),
      limit: t.arg.int({ defaultValue: 200, description: 'At most 1000.' }),
    },
    resolve: async (_root, args, context) => {
      const filter = filterOf(args.filter);
      const limit = limitArg(1000, 200, args.limit);
      const snapshot = await readSnapshot(context);
      const userId = userOf(context);
      const notifications = await unseenNotifications(snapshot, userId, limit, filter);
      const count = await unseenCount(snapshot, userId, filter);
      const counts = await unseenByCategory(snapshot, userId, filter);
      const cursor = encodeCursor(await currentCursor(snapshot, userId));
      return { notifications, unseenCount: count, counts, cursor };
    },
  }),
);

builder.mutationFields((t) => ({
  archive: t.field({
    type: [NotificationRef],
    description:
      'Archives (dismisses) notifications: they leave unseenNotifications and the counts and stay in notifications as ARCHIVED. All or none: NOT_FOUND if one is not yours, ACKNOWLEDGEMENT_REQUIRED if one still awaits acknowledge.',
    authScopes: { user: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, { ids }, context) =>
      archive(context.services, userOf(context), ids.map(String)),
  }),
  unarchive: t.field({
    type: [NotificationRef],
    description: 'Takes notifications back from the archive; all or none.',
    authScopes: { user: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, { ids }, context) =>
      unarchive(context.services, userOf(context), ids.map(String)),
  }),
  archiveAll: t.int({
    description:
      'Clears all: archives everything the filter matches (status ALL, SEEN or SNOOZED), except what still awaits acknowledge; returns how many.',
    authScopes: { user: true },
    args: { filter: t.arg({ type: NotificationFilterInput }) },
    resolve: (_root, { filter }, context) =>
      archiveAll(context.services, userOf(context), filterOf(filter)),
  }),
  snooze: t.field({
    type: NotificationRef,
    description:
      'Hides a notification from unseenNotifications and the counts until `until` (within 366 days), when every open device gets it back (UNSNOOZED). Snoozing again moves the time.',
    authScopes: { user: true },
    args: {
      id: t.arg.id({ required: true }),
      until: t.arg({ type: 'DateTime', required: true }),
    },
    resolve: (_root, { id, until }, context) =>
      snooze(context.services, userOf(context), String(id), until),
  }),
}));
