import { cancelScheduled } from '../notifications/scheduled.js';
import { builder } from './builder.js';

// A sender takes back a scheduled send before it is delivered (README, "For services").

interface Cancelled {
  id: string;
  scheduledFor: Date;
}

const CancelNotificationPayload = builder
  .objectRef<Cancelled>('CancelNotificationPayload')
  .implement({
    description: 'A scheduled send taken back before its time: nobody ever sees it.',
    fields: (t) => ({
      id: t.exposeID('id'),
      cancelled: t.boolean({
        description: 'Always true: a send that could not be cancelled is an error.',
        resolve: () => true,
      }),
      scheduledFor: t.expose('scheduledFor', {
        type: 'DateTime',
        description: 'When it would have been delivered.',
      }),
    }),
  });

builder.mutationField('cancelNotification', (t) =>
  t.field({
    type: CancelNotificationPayload,
    description:
      'Cancels a scheduled send (sendAt) you made before it is delivered (services; admins any): nobody ever sees it. ALREADY_DELIVERED once it was delivered (recallNotification deletes it then); NOT_FOUND if it is not yours or does not exist.',
    authScopes: { service: true, admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, viewer }) =>
      cancelScheduled(services.database, viewer, String(id)),
  }),
);
