import { DomainError } from '../errors.js';
import { WebhookEvent } from '../generated/prisma/enums.js';
import {
  createWebhook,
  deleteWebhook,
  listWebhooks,
  type WebhookOwner,
} from '../notifications/webhooks.js';
import { builder } from './builder.js';
import type { Context } from './context.js';

const WebhookEventEnum = builder.enumType(WebhookEvent, {
  name: 'WebhookEvent',
  description:
    'What a webhook is told about the notifications its service sent: a recipient saw one, acknowledged one, has not acknowledged one by its category escalateAfterSeconds (UNACKNOWLEDGED), or it was deleted.',
});

const Webhook = builder.prismaObject('Webhook', {
  description:
    "An endpoint a service is sent its notifications' events at, signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).",
  fields: (t) => ({
    id: t.exposeID('id'),
    service: t.exposeString('service'),
    url: t.exposeString('url'),
    events: t.expose('events', { type: [WebhookEventEnum] }),
    categories: t.field({
      type: ['String'],
      nullable: true,
      description: 'Only notifications of these categories; null: all.',
      resolve: (webhook) => (webhook.categories.length > 0 ? webhook.categories : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreatedWebhook = builder
  .objectRef<{ webhook: typeof Webhook.$inferType; secret: string }>('CreatedWebhook')
  .implement({
    fields: (t) => ({
      webhook: t.field({ type: Webhook, resolve: (created) => created.webhook }),
      secret: t.exposeString('secret', {
        description:
          'whsec_<base64>: the key deliveries are signed with. Shown only here: keep it.',
      }),
    }),
  });

const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        'http(s); refused when it resolves to a private, loopback or link-local address (unless WEBHOOK_ALLOW_PRIVATE).',
    }),
    events: t.field({ type: [WebhookEventEnum], required: true }),
    categories: t.stringList({ description: 'Only these categories; left out: all.' }),
  }),
});

/** A service manages its own webhooks; an admin sees and deletes every service's. */
function ownerOf({ viewer }: Context): WebhookOwner {
  if (viewer.kind === 'service') return { service: viewer.service };
  if (viewer.kind === 'user' && viewer.admin) return { service: null };
  throw new DomainError('FORBIDDEN', 'webhooks belong to services');
}

builder.queryField('webhooks', (t) =>
  t.prismaField({
    type: ['Webhook'],
    description: "The calling service's webhooks (an admin's: every service's).",
    authScopes: { service: true, admin: true },
    resolve: (_query, _root, _args, context) =>
      listWebhooks(context.services.database, ownerOf(context)),
  }),
);

builder.mutationField('createWebhook', (t) =>
  t.field({
    type: CreatedWebhook,
    description:
      'Adds a webhook for the calling service; its signing secret is in the answer only.',
    authScopes: { service: true },
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const { config, database } = context.services;
      return createWebhook(database, ownerOf(context).service!, input, {
        allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
        maxPerService: config.WEBHOOK_MAX_PER_SERVICE,
      });
    },
  }),
);

builder.mutationField('deleteWebhook', (t) =>
  t.boolean({
    description: 'Deletes a webhook of the calling service with its queued deliveries.',
    authScopes: { service: true, admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, context) =>
      deleteWebhook(context.services.database, ownerOf(context), String(id)),
  }),
);
