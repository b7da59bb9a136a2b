import { useGraphQlJit } from '@envelop/graphql-jit';
import { Kind, type ExecutionArgs } from 'graphql';

/**
 * Compiled execution (graphql-jit): a subscription executes each event once per subscriber, so
 * fan-out to many sockets runs this code most. graphql-jit fails on a subscription whose root
 * field has an alias (it looks the field up by its alias); those run on graphql-js instead.
 */
export const useCompiledExecution = () =>
  useGraphQlJit({}, { enableIf: (args) => !hasAliasedSubscriptionRoot(args) });

function hasAliasedSubscriptionRoot({ document, operationName }: ExecutionArgs): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === 'subscription' &&
      (!operationName || definition.name?.value === operationName) &&
      definition.selectionSet.selections.some(
        (selection) => selection.kind !== Kind.FIELD || selection.alias !== undefined,
      ),
  );
}
