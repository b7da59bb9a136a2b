import type { Notification } from '../generated/prisma/client.js';
import {
  deliveryCounts,
  markSeenFor,
  sentNotification,
  type DeliveryCounts,
} from '../notifications/delivery-status.js';
import { builder } from './builder.js';
import { NotificationRef } from './notification.js';
import { receiptsField } from './support.js';

// What a sending service learns of its notification after the send, and how it reports that
// the user saw it elsewhere (README, "Delivery status").

interface DeliveryStatusShape extends DeliveryCounts {
  id: string;
  notification: Notification;
}

const DeliveryStatus = builder.objectRef<DeliveryStatusShape>('DeliveryStatus').implement({
  description: 'Who got a notification, saw it and acknowledged it: for its sender and admins.',
  fields: (t) => ({
    id: t.exposeID('id'),
    public: t.boolean({ resolve: (status) => status.notification.public }),
    recipientCount: t.exposeInt('recipientCount', {
      nullable: true,
      description: 'How many users it was sent to; null for a public one (everyone).',
    }),
    seenCount: t.exposeInt('seenCount', {
      description:
        'How many saw it (acknowledging counts as seeing); for a public one, also those whose markAllSeen passed it.',
    }),
    acknowledgedCount: t.exposeInt('acknowledgedCount'),
    receipts: receiptsField(t),
  }),
});

builder.queryField('notificationStatus', (t) =>
  t.field({
    type: DeliveryStatus,
    description:
      "A sent notification's delivery status (the service that sent it, or an admin); NOT_FOUND for another service's.",
    authScopes: { service: true, admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, { services, viewer }) => {
      const notification = await sentNotification(services.database, viewer, String(id));
      const counts = await deliveryCounts(services.database, notification);
      return { id: notification.id, notification, ...counts };
    },
  }),
);

builder.mutationField('markSeenFor', (t) =>
  t.field({
    type: [NotificationRef],
    description:
      "Marks notifications seen for a user, as if they had (they opened the e-mail or push that carried them): their devices get SEEN. The sending service's own notifications only (admins: any); all or none, NOT_FOUND otherwise.",
    authScopes: { service: true, admin: true },
    args: {
      userId: t.arg.string({ required: true }),
      ids: t.arg.idList({ required: true }),
    },
    resolve: (_root, { userId, ids }, { services, viewer }) =>
      markSeenFor(services, viewer, userId, ids.map(String)),
  }),
);
