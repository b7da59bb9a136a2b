import type { FormattedExecutionResult as ExecutionResult } from 'graphql-ws';
import { print, type DocumentNode } from 'graphql';
import {
  MyNotificationsDocument,
  NotificationFieldsFragmentDoc,
  type MyNotificationsSubscription,
} from '../../client/graphql.js';

// myNotifications written the ways users write it: the typed document's `$after` is only one of
// them. Every shape selects the same fields, so a test reads any of them the same way.

export interface Shape {
  name: string;
  /** False for a shape without `after`: it starts from "now" and cannot resume. */
  resumes: boolean;
  /** The operation and its variables, after `cursor` for a shape that resumes. */
  operation(cursor?: string): { query: string; variables: Record<string, unknown> };
  /** The root field's response key (an alias, or the field's name). */
  key: string;
}

const FRAGMENT = print(NotificationFieldsFragmentDoc);
const FIELDS = 'type cursor unseenCount notification { ...NotificationFields }';

const written = (
  name: string,
  text: (cursor: string | undefined) => string,
  variables: (cursor: string | undefined) => Record<string, unknown> = () => ({}),
  { resumes = true, key = 'myNotifications' } = {},
): Shape => ({
  name,
  resumes,
  key,
  operation: (cursor) => ({ query: `${text(cursor)}\n${FRAGMENT}`, variables: variables(cursor) }),
});

/** A typed document from client/ whose one variable is `$after`. */
export const typedDocument = (name: string, document: DocumentNode): Shape => ({
  name,
  resumes: true,
  key: 'myNotifications',
  operation: (cursor) => ({ query: print(document), variables: { after: cursor } }),
});

/** The typed document from client/, as the helpers always used it. */
export const AFTER_VARIABLE = typedDocument('the typed document, $after', MyNotificationsDocument);

export const SHAPES: Shape[] = [
  AFTER_VARIABLE,
  written(
    'after inline',
    (cursor) => `subscription { myNotifications(after: ${JSON.stringify(cursor)}) { ${FIELDS} } }`,
  ),
  written(
    'a variable named $cursor',
    () => `subscription Follow($cursor: String) { myNotifications(after: $cursor) { ${FIELDS} } }`,
    (cursor) => ({ cursor }),
  ),
  written(
    'an aliased root field',
    () => `subscription ($after: String) { mine: myNotifications(after: $after) { ${FIELDS} } }`,
    (after) => ({ after }),
    { key: 'mine' },
  ),
  written(
    'fields in another order',
    () =>
      `subscription Reordered($after: String) {
        myNotifications(after: $after) { notification { ...NotificationFields } unseenCount cursor type }
      }`,
    (after) => ({ after }),
  ),
  written('no after', () => `subscription { myNotifications { ${FIELDS} } }`, undefined, {
    resumes: false,
  }),
];

export type Transport = 'graphql-ws' | 'sse';
export const TRANSPORTS: Transport[] = ['graphql-ws', 'sse'];

/**
 * Every shape over every transport, named for describe.each; `tag` tells the cases apart (in
 * user ids, so each case starts with users of its own).
 */
export const FOLLOW_CASES = TRANSPORTS.flatMap((transport) =>
  SHAPES.map((shape, index) => ({
    name: `${shape.name}, over ${transport}`,
    shape,
    transport,
    tag: `${transport}-${index}`,
  })),
);

/** The result as the typed document would have it: an alias read back under the field's name. */
export function asTyped<T = MyNotificationsSubscription>(
  shape: Shape,
): (result: ExecutionResult<Record<string, unknown>, unknown>) => ExecutionResult<T, unknown> {
  return (result) =>
    (result.data
      ? { ...result, data: { myNotifications: result.data[shape.key] } }
      : result) as ExecutionResult<T, unknown>;
}
