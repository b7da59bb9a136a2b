import { recallNotification, updateNotification } from '../notifications/edit.js';
import { noReceipt, viewOf } from '../notifications/types.js';
import { builder } from './builder.js';
import { NotificationRef } from './notification.js';

// A sender changes or takes back what it sent (README, "The flow").

const UpdateNotificationInput = builder.inputType('UpdateNotificationInput', {
  description:
    'The content to change, checked as sendNotification checks it; at least one field. A field left out stays as it is; null removes it (all but title).',
  fields: (t) => ({
    title: t.string(),
    body: t.string(),
    data: t.field({ type: 'JSON', description: 'Anything the client needs, up to 16 KB.' }),
    icon: t.string({ description: 'An http(s) URL or a path starting with /.' }),
    actionUrl: t.string({ description: 'An http(s) URL or a path starting with /.' }),
  }),
});

builder.mutationFields((t) => ({
  updateNotification: t.field({
    type: NotificationRef,
    description:
      'Changes the content of a notification you sent (services; admins any): every device it reached gets UPDATED with the new content; counts do not change. NOT_FOUND if it is not yours or was deleted; NOTIFICATION_EXPIRED once it has expired.',
    authScopes: { service: true, admin: true },
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateNotificationInput, required: true }),
    },
    resolve: async (_root, { id, input }, { services, viewer }) =>
      viewOf(await updateNotification(services, viewer, String(id), input), noReceipt),
  }),
  recallNotification: t.id({
    description:
      'Deletes a notification you sent, for everyone, now (services; admins any), as deleteNotification does: every device it reached gets DELETED and counts drop. Answers its id; NOT_FOUND if it is not yours or is gone already.',
    authScopes: { service: true, admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, { services, viewer }) => {
      await recallNotification(services, viewer, String(id));
      return String(id);
    },
  }),
}));
