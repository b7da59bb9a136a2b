import {
  Kind,
  parse,
  print,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type OperationDefinitionNode,
} from 'graphql';
import type { Client, SubscribePayload } from 'graphql-ws';

// graphql-ws sends a subscription's payload again after every reconnect, unchanged: a plain
// `myNotifications(after: $cursor)` resumes from the first cursor and receives again everything
// since. This wraps a graphql-ws client so that the payload it resends asks from the latest
// event's cursor instead, however the document is written (aliases, inline arguments, variables
// of any name, no `after` or no `cursor` field at all). Apollo's link and urql's exchange sit on it.

/** How one document's myNotifications is followed. */
interface Plan {
  /** The document to send: `after` bound to a variable, `cursor` selected. */
  query: string;
  /** The variable that carries `after`, and its value if the document wrote it inline. */
  variable: string;
  inline?: unknown;
  /** Where the field and its cursor are in a result (their aliases, if any). */
  fieldKey: string;
  cursorKey: string;
  /** The cursor was not asked for: it is added for us and taken out of each result. */
  addedCursor: boolean;
}

const FIELD = 'myNotifications';
/** Names for what the wrapper adds; not likely to meet a user's own. */
const ADDED_VARIABLE = 'notificationsResumeAfter';
const ADDED_CURSOR = 'notificationsResumeCursor';
const PLANS_KEPT = 100;

/** Documents seen: a client sends the same few again and again. */
const plans = new Map<string, Plan | null>();

/**
 * A graphql-ws client whose `myNotifications` subscriptions resume from the latest cursor they
 * received after each reconnect. Everything else passes through unchanged.
 */
export function resumeFromLatestCursor(client: Client): Client {
  return {
    on: (event, listener) => client.on(event, listener),
    dispose: () => client.dispose(),
    terminate: () => client.terminate(),
    subscribe(payload, sink) {
      const plan = planFor(payload);
      if (!plan) return client.subscribe(payload, sink);
      const { resent, follow } = following(plan, payload);
      return client.subscribe(resent, {
        ...sink,
        next(result) {
          follow(result);
          sink.next(result as never);
        },
      });
    },
    async *iterate(payload) {
      const plan = planFor(payload);
      if (!plan) return yield* client.iterate(payload);
      const { resent, follow } = following(plan, payload);
      for await (const result of client.iterate(resent)) {
        follow(result);
        yield result as never;
      }
    },
  };
}

/** The payload graphql-ws keeps and sends again on every reconnect, and what keeps it current. */
function following(plan: Plan, payload: SubscribePayload) {
  const variables: Record<string, unknown> = { ...payload.variables };
  if (plan.inline !== undefined) variables[plan.variable] = plan.inline;
  return {
    resent: { ...payload, query: plan.query, variables } satisfies SubscribePayload,
    follow(result: { data?: unknown }) {
      const event = fieldOf(result.data, plan.fieldKey);
      const cursor = event?.[plan.cursorKey];
      if (typeof cursor === 'string') variables[plan.variable] = cursor;
      if (event && plan.addedCursor) delete event[plan.cursorKey];
    },
  };
}

function fieldOf(data: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const value = (data as Record<string, unknown>)[key];
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function planFor(payload: SubscribePayload): Plan | null {
  let plan = plans.get(payload.query);
  if (plan === undefined) {
    plan = makePlan(payload.query, payload.operationName ?? undefined);
    if (plans.size >= PLANS_KEPT) plans.delete(plans.keys().next().value!);
    plans.set(payload.query, plan);
  }
  return plan;
}

/** null: not a subscription to myNotifications as a root field, so nothing to resume. */
function makePlan(query: string, operationName: string | undefined): Plan | null {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    return null; // the service answers a document it cannot parse
  }
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || d.name?.value === operationName),
  );
  if (operation?.operation !== 'subscription') return null;
  const field = operation.selectionSet.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === FIELD,
  );
  if (!field?.selectionSet) return null;

  const after = field.arguments?.find((a) => a.name.value === 'after');
  const variable = after?.value.kind === Kind.VARIABLE ? after.value.name.value : ADDED_VARIABLE;
  const inline = after && after.value.kind !== Kind.VARIABLE ? literal(after.value) : undefined;
  const cursorField = field.selectionSet.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'cursor' && !s.directives?.length,
  );
  const cursorKey = cursorField ? (cursorField.alias ?? cursorField.name).value : ADDED_CURSOR;

  const afterArgument: ArgumentNode = {
    kind: Kind.ARGUMENT,
    name: { kind: Kind.NAME, value: 'after' },
    value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } },
  };
  const rewritten: FieldNode = {
    ...field,
    arguments: [...(field.arguments ?? []).filter((a) => a !== after), afterArgument],
    selectionSet: {
      ...field.selectionSet,
      selections: cursorField
        ? field.selectionSet.selections
        : [
            ...field.selectionSet.selections,
            {
              kind: Kind.FIELD,
              alias: { kind: Kind.NAME, value: ADDED_CURSOR },
              name: { kind: Kind.NAME, value: 'cursor' },
            },
          ],
    },
  };
  const declared = operation.variableDefinitions?.some((v) => v.variable.name.value === variable);
  const rewrittenOperation: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: declared
      ? operation.variableDefinitions
      : [
          ...(operation.variableDefinitions ?? []),
          {
            kind: Kind.VARIABLE_DEFINITION,
            variable: afterArgument.value as ArgumentNode['value'] & { kind: Kind.VARIABLE },
            type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'String' } },
          },
        ],
    selectionSet: {
      ...operation.selectionSet,
      selections: operation.selectionSet.selections.map((s) => (s === field ? rewritten : s)),
    },
  };
  return {
    query: print({
      ...document,
      definitions: document.definitions.map((d) => (d === operation ? rewrittenOperation : d)),
    }),
    variable,
    inline,
    fieldKey: (field.alias ?? field.name).value,
    cursorKey,
    addedCursor: !cursorField,
  };
}

/** An inline `after: "..."` (or null), as the variable that replaces it carries it. */
function literal(value: ArgumentNode['value']): unknown {
  return value.kind === Kind.STRING ? value.value : null;
}
