import { categoryPreferences, setCategoryPreference } from '../notifications/preferences.js';
import { builder } from './builder.js';
import { userOf } from './viewer-of.js';

builder.prismaObject('Preference', {
  name: 'CategoryPreference',
  description: "The caller's choice for one category.",
  fields: (t) => ({
    category: t.exposeString('categoryName'),
    muted: t.exposeBoolean('muted', {
      description: 'Not delivered live and not counted; still in the history.',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('categoryPreferences', (t) =>
  t.prismaField({
    type: ['Preference'],
    description: "The caller's category choices (categories not listed are not muted).",
    authScopes: { user: true },
    resolve: (_query, _root, _args, context) =>
      categoryPreferences(context.services.database, userOf(context)),
  }),
);

builder.mutationField('setCategoryPreference', (t) =>
  t.prismaField({
    type: 'Preference',
    description:
      'Mutes or unmutes a category for the caller. Require-ack categories cannot be muted.',
    authScopes: { user: true },
    args: {
      category: t.arg.string({ required: true }),
      muted: t.arg.boolean({ required: true }),
    },
    resolve: (_query, _root, { category, muted }, context) =>
      setCategoryPreference(context.services, userOf(context), category, muted),
  }),
);
