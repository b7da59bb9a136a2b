import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { DomainError } from '../errors.js';
import type { Context } from './context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { user: boolean; admin: boolean; service: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Check scopes when a subscription starts, not only when its first event arrives.
    authorizeOnSubscribe: true,
    authScopes: ({ viewer }) => ({
      user: viewer.kind === 'user',
      admin: viewer.kind === 'user' && viewer.admin,
      service: viewer.kind === 'service',
    }),
    unauthorizedError: (_parent, { viewer }) =>
      viewer.kind === 'anonymous'
        ? new DomainError('UNAUTHENTICATED', 'sign in first')
        : new DomainError('FORBIDDEN', 'not allowed for this caller'),
  },
  prisma: {
    // The client comes from each request's context: the schema is built once, the app many times.
    client: ({ services }) => services.database,
    dmmf: getDatamodel(),
    onUnusedQuery: null,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.queryType();
builder.mutationType();
builder.subscriptionType();

/** The builder's resolved type parameters, for helpers that add the same field to several types. */
export type SchemaTypesOf<B> =
  B extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
