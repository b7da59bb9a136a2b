import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useSubscriptionRules } from '../src/api/subscription-rules.js';
import { schema } from '../src/schema/index.js';

// A subscription whose root field is skipped has nothing to subscribe to; graphql-js 16 lets it
// through validation and the executor then fails with a TypeError (found by test/fuzz.test.ts).

const subscribe = async (yoga: ReturnType<typeof createYoga>, query: string, variables = {}) => {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  return { status: response.status, errors: body.errors };
};

const CONDITIONAL_ROOTS = [
  'subscription { publicNotifications @skip(if: true) { cursor } }',
  'subscription { publicNotifications @include(if: false) { cursor } }',
  'subscription { ... on Subscription @include(if: false) { publicNotifications { cursor } } }',
  'subscription { ...F } fragment F on Subscription { publicNotifications @skip(if: true) { cursor } }',
];

describe('useSubscriptionRules', () => {
  it.each(CONDITIONAL_ROOTS)('rejects %s as a validation error', async (query) => {
    const yoga = createYoga({ schema, plugins: [useSubscriptionRules()], logging: false });
    const { status, errors } = await subscribe(yoga, query);
    expect(status).toBe(400);
    expect(errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(errors?.[0]?.message).toMatch(/must not use @(skip|include) at its root/);
  });

  it('leaves directives below the root alone', async () => {
    const yoga = createYoga({ schema, plugins: [useSubscriptionRules()], logging: false });
    const { errors } = await subscribe(
      yoga,
      'subscription { publicNotifications { cursor @skip(if: true) type } }',
    );
    // Valid: it goes on to execution, where an anonymous caller is refused.
    expect(errors?.map((error) => error.extensions?.code)).not.toContain(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });

  it('without it, a skipped root field is an internal error (the bug this guards against)', async () => {
    const yoga = createYoga({ schema, logging: false });
    const { status } = await subscribe(
      yoga,
      'subscription { publicNotifications @skip(if: true) { cursor } }',
    );
    expect(status).toBe(500);
  });
});
