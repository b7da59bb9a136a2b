import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, type ExecutionArgs } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

/**
 * Compiled execution (graphql-jit) for queries only. graphql-jit 0.8 runs a subscription's root
 * field with the operation's variables as its arguments (an inline `after: "..."`, or a variable
 * not named `$after`, arrives as undefined) and fails on an aliased root field; and once an
 * error has nulled a response it keeps resolving the other fields, where graphql-js stops: for
 * a mutation, that would be a side effect graphql-js never has. test/jit-equivalence.test.ts
 * shows queries give every resolver the same arguments and the same results as graphql-js.
 * Variables that do not coerce are left to graphql-js too: graphql-jit words the error
 * differently and leaves out its HTTP status.
 */
export const useCompiledExecution = () => useGraphQlJit({}, { enableIf: compiledExecutionFits });

function compiledExecutionFits(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'query') return false;
  const coerced = getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    args.variableValues ?? {},
    { maxErrors: 1 },
  );
  return coerced.errors === undefined;
}
