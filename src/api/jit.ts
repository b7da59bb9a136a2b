import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, type ExecutionArgs } from 'graphql';

/**
 * Compiled execution (graphql-jit) for queries and mutations only. graphql-jit 0.8 runs a
 * subscription's root field with the operation's variables as its arguments (an inline
 * `after: "..."`, or a variable not named `$after`, arrives as undefined), and fails on an
 * aliased root field: subscriptions run on graphql-js. test/jit-equivalence.test.ts shows the
 * rest gives every resolver the same arguments and the same results as graphql-js.
 */
export const useCompiledExecution = () => useGraphQlJit({}, { enableIf: compiledExecutionFits });

export function compiledExecutionFits({ document, operationName }: ExecutionArgs): boolean {
  const operation = getOperationAST(document, operationName);
  return operation != null && operation.operation !== 'subscription';
}
