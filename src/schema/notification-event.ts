import { encodeCursor, parseCursor } from '../notifications/event-log.js';
import { NotificationEventType } from '../generated/prisma/enums.js';
import { eventView } from '../notifications/types.js';
import { notificationStream, type Delivery } from '../realtime/notification-stream.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { NotificationFilterInput, filterOf } from './notification-filter.js';
import { NotificationRef } from './notification.js';
import type { SharedResults } from './shared-results.js';
import { userOf } from './viewer-of.js';

const NotificationEventTypeEnum = builder.enumType(NotificationEventType, {
  name: 'NotificationEventType',
});

/**
 * Everyone given the same event gets the same result but for these fields: a DIGEST is
 * gathered for one subscriber, any other delivery is its event and the subscriber's position.
 */
const sharedResults = {
  sharedBy: (delivery: Delivery) => (delivery.type === 'DIGEST' ? undefined : delivery.event),
  personal: {
    cursor: ({ cursor }: Delivery) => encodeCursor(cursor),
    unseenCount: ({ unseenCount }: Delivery) => unseenCount,
  },
} satisfies SharedResults<Delivery>;

const NotificationEvent = builder.objectRef<Delivery>('NotificationEvent').implement({
  description:
    'Something that happened to one of your notifications. DIGEST: several new notifications of a batched category at once.',
  fields: (t) => ({
    type: t.field({ type: NotificationEventTypeEnum, resolve: (delivery) => delivery.type }),
    cursor: t.string({
      description: 'Pass the last one you received as myNotifications(after:) to resume.',
      resolve: sharedResults.personal.cursor,
    }),
    notification: t.field({
      type: NotificationRef,
      description: 'For DELETED, only its identity and dates remain (empty title, no body).',
      resolve: ({ event }) => eventView(event),
    }),
    replaces: t.id({
      nullable: true,
      description:
        'On CREATED of a grouped notification: the earlier one of its group it folded, to drop from your list (it is no longer listed or counted).',
      resolve: ({ event }) => event.fold?.replaces ?? null,
    }),
    notifications: t.field({
      type: [NotificationRef],
      description:
        'For a DIGEST, every notification it gathers, oldest first; otherwise [notification].',
      resolve: ({ events }) => events.map(eventView),
    }),
    unseenCount: t.int({
      description:
        'Your unseenCount once this event has happened. Events replayed from `after` (those before you subscribed) carry your count as it was when you subscribed: the latest event you received always has your current count.',
      resolve: sharedResults.personal.unseenCount,
    }),
  }),
});

/**
 * Counts deliveries, and times CREATED ones from their notification's creation (a replay after
 * a reconnect counts with all its delay: that is how late the user got it).
 */
function observe({ metrics }: Context['services']) {
  return (delivery: Delivery) => {
    metrics.deliveries.inc({ type: delivery.type });
    if (delivery.type !== 'CREATED') return;
    metrics.sendToDeliver.observe(
      (Date.now() - delivery.event.notification.createdAt.getTime()) / 1000,
    );
  };
}

builder.subscriptionFields((t) => ({
  myNotifications: t.field({
    type: NotificationEvent,
    description:
      'Your events: CREATED (private or public), SEEN, UNSEEN, ACKNOWLEDGED, ARCHIVED, UNARCHIVED and SNOOZED (from any of your devices), UNSNOOZED (a snooze ran out: it is back), ALL_SEEN (markAllSeen: everything up to its notification is seen; require-ack ones still await acknowledgement), ALL_ARCHIVED (archiveAll: reload the inbox), UPDATED (its sender changed its content: the event carries it; counts do not change), DELETED (also when its sender recalls it). With after, first replays everything since that cursor. With filter (categories and priorities), only events of the notifications it matches, and unseenCount counts only those.',
    authScopes: { user: true },
    extensions: { sharedResults },
    args: { after: t.arg.string(), filter: t.arg({ type: NotificationFilterInput }) },
    subscribe: (_root, { after, filter }, context) =>
      notificationStream({
        database: context.services.database,
        pool: context.services.pool,
        bus: context.services.bus,
        userId: userOf(context),
        after: after == null ? null : parseCursor(after),
        deliver: 'all',
        filter: filterOf(filter, { kindOnly: true }),
        onDelivery: observe(context.services),
        hooks: context.services.streamHooks,
      }),
    resolve: (delivery) => delivery,
  }),
  publicNotifications: t.field({
    type: NotificationEvent,
    description:
      'Public notifications as they are sent (and updated and deleted), for any signed-in user.',
    authScopes: { user: true },
    extensions: { sharedResults },
    subscribe: (_root, _args, context) =>
      notificationStream({
        database: context.services.database,
        pool: context.services.pool,
        bus: context.services.bus,
        userId: userOf(context),
        after: null,
        deliver: 'public',
        onDelivery: observe(context.services),
        hooks: context.services.streamHooks,
      }),
    resolve: (delivery) => delivery,
  }),
}));
