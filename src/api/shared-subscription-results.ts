import {
  createSourceEventStream,
  execute,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isLeafType,
  isNonNullType,
  isObjectType,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLLeafType,
  type SelectionSetNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { sharedResultsOf, type SharedResults } from '../schema/shared-results.js';

// A public notification reaches every subscriber at once, and all of them that wrote the same
// document get the same result but for a few fields of their own (cursor, unseenCount). So the
// event is executed once per document and shared, and each subscriber's result is that shared
// one with its own fields put in: one execution per event and document instead of one per
// subscriber. A subscription field opts in by declaring what is shared (schema/shared-results.ts);
// anything else about a document, payload or result that does not fit runs as graphql-js would
// run it. test/shared-subscription-results.test.ts shows the results are the same.

type MaybePromise<T> = T | Promise<T>;

interface Plan {
  sharing: SharedResults<unknown>;
  /** The root field's response key. */
  rootKey: string;
  /** The response keys of the payload's personal fields, each with its serialized value. */
  personal: { key: string; value: (payload: unknown) => unknown }[];
  /** The shared result of each payload, by what it shares. */
  results: WeakMap<object, MaybePromise<ExecutionResult>>;
}

/** Plans per document, by operation name and the variables the events' execution reads. */
const plans = new WeakMap<DocumentNode, Map<string, Plan>>();
/** Distinct variable values planned per document: past this, subscriptions plan on their own. */
const PLANS_PER_DOCUMENT = 64;

/** A personal field's value could not be put in as graphql-js would: execute on its own. */
const UNFIT = Symbol('unfit');

/** Executes each event of a subscription that declares shared results once per document. */
export function useSharedSubscriptionResults(): Plugin {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const results = eventResults(args);
      if (results) setSubscribeFn((current) => subscribeShared(current, results, subscribeFn));
    },
  };
}

/**
 * How the subscription `args` turns each event into its result, sharing the execution with other
 * subscriptions given the same event; undefined if its root field declares nothing to share.
 */
export function eventResults(
  args: ExecutionArgs,
): ((payload: unknown) => MaybePromise<ExecutionResult>) | undefined {
  const plan = planFor(args);
  return plan && ((payload) => resultFor(plan, args, payload));
}

async function subscribeShared(
  args: ExecutionArgs,
  results: (payload: unknown) => MaybePromise<ExecutionResult>,
  otherwise: (args: ExecutionArgs) => unknown,
) {
  const operation = getOperationAST(args.document, args.operationName)!;
  // Variables that cannot be coerced are refused as the usual executor refuses them.
  const variables = getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    args.variableValues ?? {},
  );
  if (variables.errors) return otherwise(args);
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const iterator = stream[Symbol.asyncIterator]();
  const failed = (error: unknown): never => {
    const cause = error instanceof Error ? error : new Error(String(error));
    throw createGraphQLError(cause.message, { originalError: cause, nodes: [operation] });
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => mapped,
    next: async () => {
      const step = await iterator.next().catch(failed);
      if (step.done) return step;
      try {
        return { value: await results(step.value), done: false };
      } catch (error) {
        await iterator.return?.();
        throw error;
      }
    },
    return: async () => {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    throw: async (error) => {
      await (iterator.throw ?? iterator.return)?.call(iterator, error);
      throw error;
    },
  };
  return mapped;
}

function resultFor(plan: Plan, args: ExecutionArgs, payload: unknown) {
  const own = () => execute({ ...args, rootValue: payload });
  const sharedBy = plan.sharing.sharedBy(payload);
  if (sharedBy === undefined) return own();
  let shared = plan.results.get(sharedBy);
  if (!shared) {
    shared = own();
    plan.results.set(sharedBy, shared);
  }
  const personalize = (result: ExecutionResult) => personalized(plan, result, payload) ?? own();
  return shared instanceof Promise ? shared.then(personalize) : personalize(shared);
}

/** The shared result with the subscriber's own fields; undefined if it cannot be shared. */
function personalized(plan: Plan, shared: ExecutionResult, payload: unknown) {
  if (shared.errors || !shared.data) return undefined;
  const root = shared.data[plan.rootKey];
  if (root === null || typeof root !== 'object') return undefined;
  const own: Record<string, unknown> = { ...root };
  for (const { key, value } of plan.personal) {
    if (!(key in own)) continue;
    const serialized = value(payload);
    if (serialized === UNFIT) return undefined;
    own[key] = serialized;
  }
  return { data: { [plan.rootKey]: own } };
}

function planFor(args: ExecutionArgs): Plan | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'subscription') return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const roots = fieldsOf(operation.selectionSet, fragments);
  const rootKey = roots[0] && responseKey(roots[0]);
  if (!rootKey || roots.some((root) => responseKey(root) !== rootKey)) return undefined;
  const field = args.schema.getSubscriptionType()?.getFields()[roots[0]!.name.value];
  const sharing = sharedResultsOf(field);
  const type = field && getNamedType(field.type);
  if (!sharing || !isObjectType(type)) return undefined;

  const key = `${args.operationName ?? ''}\n${JSON.stringify(readVariables(roots, fragments, args))}`;
  const planned = plans.get(args.document) ?? new Map<string, Plan>();
  const known = planned.get(key);
  if (known) return known;

  const personal: Plan['personal'] = [];
  for (const node of roots.flatMap((root) => fieldsOf(root.selectionSet!, fragments))) {
    const resolve = sharing.personal[node.name.value];
    const fieldType = type.getFields()[node.name.value]?.type;
    if (!resolve || !fieldType) continue;
    const leaf = getNamedType(fieldType);
    if (!isLeafType(leaf)) return undefined;
    personal.push({
      key: responseKey(node),
      value: serializer(resolve, leaf, isNonNullType(fieldType)),
    });
  }
  const plan: Plan = { sharing, rootKey, personal, results: new WeakMap() };
  if (planned.size < PLANS_PER_DOCUMENT) plans.set(args.document, planned.set(key, plan));
  return plan;
}

/** A personal field's value as graphql-js would write it, or UNFIT where it would fail. */
function serializer(
  resolve: (payload: unknown) => unknown,
  type: GraphQLLeafType,
  nonNull: boolean,
) {
  return (payload: unknown) => {
    const value = resolve(payload);
    if (value == null) return nonNull ? UNFIT : null;
    try {
      return type.serialize(value) ?? UNFIT;
    } catch {
      return UNFIT;
    }
  };
}

const responseKey = (node: FieldNode) => node.alias?.value ?? node.name.value;

/** The fields of a selection set, through its fragments (not into sub-selections). */
function fieldsOf(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  visited = new Set<string>(),
): FieldNode[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      return fieldsOf(selection.selectionSet, fragments, visited);
    }
    const fragment = fragments.get(selection.name.value);
    if (!fragment || visited.has(fragment.name.value)) return [];
    visited.add(fragment.name.value);
    return fieldsOf(fragment.selectionSet, fragments, visited);
  });
}

/**
 * The values of the variables an event's execution reads: those under the root field, not its
 * arguments (which only choose the events). Subscribers that differ only in those share results.
 */
function readVariables(
  roots: FieldNode[],
  fragments: Map<string, FragmentDefinitionNode>,
  args: ExecutionArgs,
): [string, unknown][] {
  const names = new Set<string>();
  const visited = new Set<string>();
  const read = (node: SelectionSetNode | FragmentDefinitionNode) =>
    visit(node, {
      Variable: (variable) => void names.add(variable.name.value),
      FragmentSpread: (spread) => {
        const fragment = fragments.get(spread.name.value);
        if (!fragment || visited.has(spread.name.value)) return;
        visited.add(spread.name.value);
        read(fragment);
      },
    });
  for (const root of roots) {
    for (const directive of root.directives ?? [])
      visit(directive, { Variable: (v) => void names.add(v.name.value) });
    if (root.selectionSet) read(root.selectionSet);
  }
  return [...names].sort().map((name) => [name, args.variableValues?.[name]]);
}
