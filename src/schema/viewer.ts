import { builder } from './builder.js';

const ViewerKind = builder.enumType('ViewerKind', { values: ['ANONYMOUS', 'USER', 'SERVICE'] });

interface ViewerShape {
  kind: 'ANONYMOUS' | 'USER' | 'SERVICE';
  id: string | null;
  admin: boolean;
}

const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'Who the server takes the caller to be.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKind, resolve: (viewer) => viewer.kind }),
    id: t.exposeID('id', {
      nullable: true,
      description: 'The user id (JWT `sub`) or the service name.',
    }),
    admin: t.exposeBoolean('admin'),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'The caller as authenticated: useful to check a token or an API key.',
    resolve: (_root, _args, { viewer }): ViewerShape => {
      if (viewer.kind === 'user') return { kind: 'USER', id: viewer.userId, admin: viewer.admin };
      if (viewer.kind === 'service') return { kind: 'SERVICE', id: viewer.service, admin: false };
      return { kind: 'ANONYMOUS', id: null, admin: false };
    },
  }),
);
