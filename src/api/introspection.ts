import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../errors.js';

/** extensions.code of a query that asks for __schema or __type where introspection is off. */
export const INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED' satisfies ErrorCode;

/** Refuses introspection queries (over HTTP and graphql-ws) when `enabled` is false. */
export function useIntrospection(enabled: boolean): Plugin {
  if (enabled) return {};
  // graphql's own rule, its report given a code a client can switch on.
  const rule: ValidationRule = (context) =>
    NoSchemaIntrospectionCustomRule(
      Object.create(context, {
        reportError: {
          value: (error: GraphQLError) =>
            context.reportError(
              new GraphQLError(error.message, {
                nodes: error.nodes,
                extensions: { code: INTROSPECTION_DISABLED },
              }),
            ),
        },
      }) as typeof context,
    );
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
