import type { GraphQLField } from 'graphql';

/**
 * Declared on a subscription field (`extensions: { sharedResults }`) whose events many
 * subscribers receive alike, so that an event is executed once per document instead of once per
 * subscriber (api/shared-subscription-results.ts). The declaration promises that, for a payload,
 * every field of the result except `personal` ones depends only on `sharedBy(payload)` and the
 * document, not on the subscriber's context or on the subscription field's arguments.
 */
export interface SharedResults<Payload> {
  /** What subscribers given this payload share; undefined when the payload is the subscriber's own. */
  sharedBy(payload: Payload): object | undefined;
  /** The payload type's fields that differ between subscribers: leaf fields, by name, with their resolvers. */
  personal: Record<string, (payload: Payload) => unknown>;
}

export function sharedResultsOf(
  field: GraphQLField<unknown, unknown> | undefined,
): SharedResults<unknown> | undefined {
  return field?.extensions.sharedResults as SharedResults<unknown> | undefined;
}
