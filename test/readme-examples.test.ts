import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

// What the README shows a reader to type is GraphQL the service takes: every ```graphql block
// parses and validates against the printed schema (schema.graphql, itself checked against the code).

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const blocks = [...README.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);

describe('the README', () => {
  it('shows GraphQL examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it.each(blocks.map((block, index) => [index + 1, block]))(
    'example %i is valid against the schema',
    (_index, block) => {
      const errors = validate(schema, parse(block)).map((error) => error.message);
      expect(errors).toEqual([]);
    },
  );
});
