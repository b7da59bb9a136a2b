import { deleteTemplate, upsertTemplate } from '../notifications/templates.js';
import { builder } from './builder.js';

builder.prismaObject('Template', {
  description: "Title and body text with {{placeholders}}, filled from a send's variables.",
  fields: (t) => ({
    key: t.exposeString('key'),
    title: t.exposeString('title'),
    body: t.exposeString('body', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const TemplateInput = builder.inputType('TemplateInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    title: t.string({ required: true }),
    body: t.string(),
  }),
});

builder.queryField('templates', (t) =>
  t.prismaField({
    type: ['Template'],
    authScopes: { admin: true, service: true },
    resolve: (query, _root, _args, { services }) =>
      services.database.template.findMany({ ...query, orderBy: { key: 'asc' } }),
  }),
);

builder.mutationField('upsertTemplate', (t) =>
  t.prismaField({
    type: 'Template',
    authScopes: { admin: true },
    args: { input: t.arg({ type: TemplateInput, required: true }) },
    resolve: (_query, _root, { input }, { services }) => upsertTemplate(services, input),
  }),
);

builder.mutationField('deleteTemplate', (t) =>
  t.prismaField({
    type: 'Template',
    description:
      'Deletes a template; notifications sent with it keep their text, later sends naming it are refused.',
    authScopes: { admin: true },
    args: { key: t.arg.string({ required: true }) },
    resolve: (_query, _root, { key }, { services }) => deleteTemplate(services, key),
  }),
);
