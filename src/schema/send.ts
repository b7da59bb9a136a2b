import type { SendInput, SendResult } from '../notifications/send.js';
import { noReceipt, viewOf } from '../notifications/types.js';
import { sentLabels } from '../observability/metrics.js';
import type { Services } from '../services.js';
import type { Viewer } from '../auth/viewer.js';
import { builder } from './builder.js';
import { NotificationRef } from './notification.js';

const SendNotificationInput = builder.inputType('SendNotificationInput', {
  description:
    'Exactly one of recipientIds, public: true or topic. Either title (and body) or a template with variables.',
  fields: (t) => ({
    category: t.string({ required: true }),
    recipientIds: t.idList({ description: 'The users to notify (JWT `sub` values).' }),
    public: t.boolean({ description: 'Every user, including users who first connect later.' }),
    topic: t.string({
      description:
        'The members of this topic when the send is stored (a scheduled one: when it is delivered), each as a private recipient (not those who join later). A topic without members gets it stored, reaching no one (recipientCount 0). One per sendNotifications batch; no groupKey.',
    }),
    title: t.string(),
    body: t.string(),
    data: t.field({ type: 'JSON', description: 'Anything the client needs, up to 16 KB.' }),
    icon: t.string({ description: 'An http(s) URL or a path starting with /.' }),
    actionUrl: t.string({ description: 'An http(s) URL or a path starting with /.' }),
    template: t.string({ description: 'The key of a template to fill instead of title/body.' }),
    variables: t.field({ type: 'JSON', description: "The template's {{placeholders}}." }),
    expiresAt: t.field({ type: 'DateTime', description: "Overrides the category's expiry." }),
    deleteAt: t.field({ type: 'DateTime', description: "Overrides the category's deletion." }),
    idempotencyKey: t.string({
      description: 'The same key from the same service within 24 hours returns the first result.',
    }),
    sendAt: t.field({
      type: 'DateTime',
      description:
        'Deliver it then rather than now (at most 365 days ahead; now or past: at once). It is stored when answered and seen by nobody until then; expiry and deletion count from it. The sender can cancelNotification it until then.',
    }),
    groupKey: t.string({
      description:
        "A thread (1-255 characters; private sends only): in each recipient's inbox it takes the place of their newest earlier one of the same category and groupKey not archived, which is folded into it (groupCount).",
    }),
  }),
});

const SendNotificationPayload = builder.objectRef<SendResult>('SendNotificationPayload').implement({
  fields: (t) => ({
    notification: t.field({
      type: NotificationRef,
      resolve: (result) => viewOf(result.notification, noReceipt),
    }),
    recipientCount: t.exposeInt('recipientCount', {
      description:
        "How many users it was addressed to (a topic's members at the send; for one scheduled to a topic, 0 until its delivery); 0 for a public notification.",
    }),
    scheduledFor: t.expose('scheduledFor', {
      type: 'DateTime',
      nullable: true,
      description:
        'When it will be delivered (sendAt), if it was scheduled: until then nobody sees it, and cancelNotification takes it back. Null: stored and delivered now.',
    }),
    deduplicated: t.exposeBoolean('deduplicated', {
      description: 'True when this repeats an earlier send with the same idempotencyKey.',
    }),
  }),
});

const senderOf = (viewer: Viewer) => (viewer.kind === 'service' ? viewer.service : 'unknown');

/** Counts what was stored now (repeats of an idempotency key excluded; scheduled when delivered). */
function countSent(services: Services, results: SendResult[]) {
  for (const { notification, deduplicated, scheduledFor } of results) {
    if (deduplicated || scheduledFor) continue;
    services.metrics.sent.inc(sentLabels(notification));
  }
  return results;
}

type GivenInput = Omit<SendInput, 'recipientIds'> & {
  recipientIds?: readonly (string | number)[] | null;
};
const asSendInput = (input: GivenInput): SendInput => ({
  ...input,
  recipientIds: input.recipientIds?.map(String),
});

builder.mutationField('sendNotification', (t) =>
  t.field({
    type: SendNotificationPayload,
    description: 'Stores a notification, then delivers it to whoever is online. Services only.',
    authScopes: { service: true },
    args: { input: t.arg({ type: SendNotificationInput, required: true }) },
    resolve: async (_root, { input }, { services, viewer }) => {
      const result = await services.sender.send(senderOf(viewer), asSendInput(input));
      return countSent(services, [result])[0]!;
    },
  }),
);

builder.mutationField('sendNotifications', (t) =>
  t.field({
    type: [SendNotificationPayload],
    description:
      'Up to MAX_SENDS_PER_BATCH sends (1,000 by default), stored together before any is answered; one result per input, in order. When any input is refused, nothing is stored and the error names it (`inputs[i]: ...`). Each counts as one send for rate limits. Services only.',
    authScopes: { service: true },
    args: { inputs: t.arg({ type: [SendNotificationInput], required: true }) },
    resolve: async (_root, { inputs }, { services, viewer }) => {
      const results = await services.sender.sendMany(senderOf(viewer), inputs.map(asSendInput));
      return countSent(services, results);
    },
  }),
);
