import {
  GraphQLError,
  Kind,
  getNamedType,
  getOperationAST,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../errors.js';

// graphql-armor's cost formula (a field costs 1, an object 2 plus 1.5 times its selections),
// which MAX_QUERY_COST's default was chosen for, with what armor leaves out: a list costs as
// many times as the items it asks for, by `limit` as well as `first`/`last`, written inline, in
// a variable, or left to the argument's default. Fragments cost what their fields cost where
// they are spread. Computed when the operation runs, because only then are its variables known
// (and Yoga caches validation per document, whatever the variables).

const SCALAR_COST = 1;
const OBJECT_COST = 2;
const DEPTH_FACTOR = 1.5;
/** Arguments that say how many items a field returns. */
const SIZE_ARGUMENTS = new Set(['limit', 'first', 'last']);
/** List arguments whose every item is a unit of work (sendNotifications' inputs). */
const BATCH_ARGUMENT = 'inputs';

interface CostArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

/** The cost of the operation `operationName` of `document` run with `variableValues`. */
function queryCost({ schema, document, operationName, variableValues }: CostArgs): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const listSize = (field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined) => {
    let size = 1;
    for (const argument of definition?.args ?? []) {
      if (!SIZE_ARGUMENTS.has(argument.name)) continue;
      const given = argumentValue(field, argument.name, operation, variableValues);
      const value = given ?? argument.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size, value);
    }
    return Math.max(size, batchSize(field, operation, variableValues));
  };
  const selectionsCost = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    spread: Set<string>,
  ): number =>
    selectionSet.selections.reduce((total, selection) => {
      if (selection.kind === Kind.FIELD) return total + fieldCost(selection, parent, spread);
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        return total + selectionsCost(selection.selectionSet, type, spread);
      }
      const fragment = fragments.get(selection.name.value);
      // A cycle is refused by validation; it costs nothing here.
      if (!fragment || spread.has(fragment.name.value)) return total;
      return (
        total +
        selectionsCost(
          fragment.selectionSet,
          schema.getType(fragment.typeCondition.name.value),
          new Set([...spread, fragment.name.value]),
        )
      );
    }, 0);
  const fieldCost = (
    field: FieldNode,
    parent: GraphQLNamedType | undefined,
    spread: Set<string>,
  ): number => {
    if (field.name.value === '__schema' || field.name.value === '__type') return 0;
    if (!field.selectionSet) return SCALAR_COST;
    const definition =
      parent && (isObjectType(parent) || isInterfaceType(parent))
        ? parent.getFields()[field.name.value]
        : undefined;
    const type = definition && getNamedType(definition.type);
    const each = OBJECT_COST + DEPTH_FACTOR * selectionsCost(field.selectionSet, type, spread);
    return each * listSize(field, definition);
  };
  return selectionsCost(
    operation.selectionSet,
    schema.getRootType(operation.operation) ?? undefined,
    new Set(),
  );
}

/**
 * How many items a field's batch argument (`inputs`) holds, as a literal list or a variable; 1
 * without one (a single value where a list is expected is a list of one).
 */
export function batchSize(
  field: FieldNode,
  operation: OperationDefinitionNode,
  variableValues: Record<string, unknown> | null | undefined,
): number {
  const node = field.arguments?.find((argument) => argument.name.value === BATCH_ARGUMENT)?.value;
  if (node?.kind === Kind.LIST) return node.values.length;
  if (node?.kind !== Kind.VARIABLE) return 1;
  const value = variableValues?.[node.name.value];
  return Array.isArray(value) ? value.length : 1;
}

/** The value of an argument as written: a literal, a variable's value or default, or undefined. */
function argumentValue(
  field: FieldNode,
  name: string,
  operation: OperationDefinitionNode,
  variableValues: Record<string, unknown> | null | undefined,
): unknown {
  const node = field.arguments?.find((argument) => argument.name.value === name)?.value;
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind !== Kind.VARIABLE) return null;
  const variable = node.name.value;
  if (variableValues && variable in variableValues) return variableValues[variable];
  const fallback = operation.variableDefinitions?.find(
    (definition) => definition.variable.name.value === variable,
  )?.defaultValue;
  return fallback?.kind === Kind.INT ? Number(fallback.value) : undefined;
}

/**
 * Refuses an operation whose queryCost is over `maxCost` with QUERY_TOO_COMPLEX (limit
 * "cost"), before anything runs: queries and mutations at execution, subscriptions at start.
 */
export function useQueryCost(maxCost: number, code: ErrorCode): Plugin {
  const refusal = (args: CostArgs) => {
    const cost = queryCost(args);
    if (cost <= maxCost) return undefined;
    return {
      errors: [
        new GraphQLError(`Query Cost limit of ${maxCost} exceeded, found ${Math.ceil(cost)}.`, {
          extensions: { code, limit: 'cost' },
        }),
      ],
    };
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}
