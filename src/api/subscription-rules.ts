import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * A subscription's root field must not be conditional: `subscription { x @skip(if: true) }`
 * leaves nothing to subscribe to, and the executor (@graphql-tools/executor) then fails with a
 * TypeError, a 500 over HTTP and a 4500 close over graphql-ws. The GraphQL specification forbids
 * it since its 2021 edition (and graphql-js 17 checks it); graphql-js 16, which this service
 * runs, does not. Reported as a validation error like any other.
 */
export function NoConditionalSubscriptionRootRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'subscription') return;
      const name = operation.name ? `"${operation.name.value}" ` : '';
      const visited = new Set<string>();
      const check = (selectionSet: SelectionSetNode) => {
        for (const selection of selectionSet.selections) {
          const conditional = selection.directives?.find(
            (directive) => directive.name.value === 'skip' || directive.name.value === 'include',
          );
          if (conditional) {
            context.reportError(
              new GraphQLError(
                `Subscription ${name}must not use @${conditional.name.value} at its root.`,
                { nodes: conditional },
              ),
            );
          }
          if (selection.kind === Kind.INLINE_FRAGMENT) check(selection.selectionSet);
          if (selection.kind === Kind.FRAGMENT_SPREAD && !visited.has(selection.name.value)) {
            visited.add(selection.name.value);
            const fragment = fragments.get(selection.name.value);
            if (fragment) check(fragment.selectionSet);
          }
        }
      };
      check(operation.selectionSet);
    },
  };
}

/** Adds NoConditionalSubscriptionRootRule to validation, over HTTP and graphql-ws alike. */
export function useSubscriptionRules(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoConditionalSubscriptionRootRule);
    },
  };
}
