import { NotificationPriority } from '../generated/prisma/enums.js';
import { deleteCategory, upsertCategory } from '../notifications/categories.js';
import { builder } from './builder.js';

export const NotificationPriorityEnum = builder.enumType(NotificationPriority, {
  name: 'NotificationPriority',
});

builder.prismaObject('Category', {
  description: 'What kind of notification it is: decides expiry, deletion and acknowledgement.',
  fields: (t) => ({
    name: t.exposeString('name'),
    expireAfterSeconds: t.exposeInt('expireAfterSeconds', {
      nullable: true,
      description: 'Not shown after this many seconds; null: never expires.',
    }),
    deleteAfterSeconds: t.exposeInt('deleteAfterSeconds', {
      nullable: true,
      description: "Deleted after this many seconds; null: the service's default (30 days).",
    }),
    requireAck: t.exposeBoolean('requireAck'),
    priority: t.expose('priority', { type: NotificationPriorityEnum }),
    batchWindowSeconds: t.exposeInt('batchWindowSeconds', {
      nullable: true,
      description:
        'Live delivery gathers its notifications into one DIGEST event per this many seconds; null: each at once.',
    }),
    escalateAfterSeconds: t.exposeInt('escalateAfterSeconds', {
      nullable: true,
      description:
        "Require-ack only: a recipient who has not acknowledged this long after the send produces one UNACKNOWLEDGED delivery to the sender's webhooks; null: never.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const CategoryInput = builder.inputType('CategoryInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    expireAfterSeconds: t.int(),
    deleteAfterSeconds: t.int(),
    requireAck: t.boolean({ defaultValue: false }),
    priority: t.field({ type: NotificationPriorityEnum, defaultValue: 'NORMAL' }),
    batchWindowSeconds: t.int(),
    escalateAfterSeconds: t.int({
      description: 'Only with requireAck (BAD_USER_INPUT otherwise).',
    }),
  }),
});

builder.queryField('categories', (t) =>
  t.prismaField({
    type: ['Category'],
    authScopes: { user: true, service: true },
    resolve: (query, _root, _args, { services }) =>
      services.database.category.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
);

builder.mutationField('upsertCategory', (t) =>
  t.prismaField({
    type: 'Category',
    description: 'Creates a category or changes it; notifications already sent keep their dates.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CategoryInput, required: true }) },
    resolve: (_query, _root, { input }, { services }) =>
      upsertCategory(services, {
        ...input,
        requireAck: input.requireAck ?? false,
        priority: input.priority ?? 'NORMAL',
      }),
  }),
);

builder.mutationField('deleteCategory', (t) =>
  t.prismaField({
    type: 'Category',
    description:
      "Deletes a category and users' preferences for it; CATEGORY_IN_USE while it has notifications (they keep it until their deleteAt, or deleteNotification).",
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_query, _root, { name }, { services }) => deleteCategory(services, name),
  }),
);
