import fc from 'fast-check';
import {
  getNamedType,
  GraphQLBoolean,
  GraphQLNonNull,
  isEnumType,
  isLeafType,
  isListType,
  isNonNullType,
  validate,
  type DocumentNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { schema } from '../../src/schema/index.js';

// Random documents over the app's schema, written the ways users write them: fields in any
// order, aliases, inline arguments or variables of any name, fragments (named, inline with a type
// condition or without), @include/@skip. Drawn with fast-check's fc.gen(), so a failure shrinks.

type Draw = fc.GeneratorValue;

interface Writing {
  /** Values for String and ID literals and variables. */
  strings: string[];
  aliases: number;
  variables: Map<string, { type: string; value: unknown }>;
  fragments: string[];
}

function literal(
  draw: Draw,
  writing: Writing,
  type: GraphQLInputType,
): { text: string; value: unknown } {
  if (isNonNullType(type)) return literal(draw, writing, type.ofType);
  if (isListType(type)) {
    const items = Array.from({ length: draw(fc.integer, { min: 0, max: 2 }) }, () =>
      literal(draw, writing, type.ofType),
    );
    return { text: `[${items.map((i) => i.text).join(', ')}]`, value: items.map((i) => i.value) };
  }
  const named = getNamedType(type);
  if (isEnumType(named)) {
    const value = draw(fc.constantFrom, ...named.getValues().map((v) => v.name));
    return { text: value, value };
  }
  switch (named.name) {
    case 'Int': {
      const value = draw(fc.constantFrom, 0, 1, 2, 5, 20, 100, 101, 1000, -1);
      return { text: String(value), value };
    }
    case 'Boolean': {
      const value = draw(fc.boolean);
      return { text: String(value), value };
    }
    default: {
      const value = draw(fc.constantFrom, ...writing.strings);
      return { text: JSON.stringify(value), value };
    }
  }
}

/** `name: value` for an argument, inline or through a variable with a random name. */
function argument(draw: Draw, writing: Writing, name: string, type: GraphQLInputType): string {
  const { text, value } = literal(draw, writing, type);
  if (draw(fc.boolean)) return `${name}: ${text}`;
  const variable = `${draw(fc.constantFrom, 'v', 'after', 'cursor', 'x', 'first', 'limit')}${writing.variables.size}`;
  writing.variables.set(variable, { type: String(type), value });
  return `${name}: $${variable}`;
}

function directive(draw: Draw, writing: Writing): string {
  if (draw(fc.integer, { min: 0, max: 9 }) > 1) return '';
  const name = draw(fc.constantFrom, 'include', 'skip');
  return ` @${name}(${argument(draw, writing, 'if', new GraphQLNonNull(GraphQLBoolean))})`;
}

function field(
  draw: Draw,
  writing: Writing,
  owner: GraphQLField<unknown, unknown>,
  depth: number,
): string {
  // Numbered, so two aliases never ask for different fields under one name.
  const alias = draw(fc.boolean)
    ? `${draw(fc.constantFrom, 'a', 'b', 'item', 'x')}${writing.aliases++}: `
    : '';
  const args = owner.args
    .filter((arg) => isNonNullType(arg.type) || draw(fc.boolean))
    .map((arg) => argument(draw, writing, arg.name, arg.type));
  const argsText = args.length ? `(${args.join(', ')})` : '';
  const named = getNamedType(owner.type);
  const selection = isLeafType(named)
    ? ''
    : ` ${selectionSet(draw, writing, named as GraphQLObjectType, depth + 1)}`;
  return `${alias}${owner.name}${argsText}${directive(draw, writing)}${selection}`;
}

function selectionSet(
  draw: Draw,
  writing: Writing,
  type: GraphQLObjectType,
  depth: number,
): string {
  const fields = Object.values(type.getFields()).filter(
    (candidate) => depth < 4 || isLeafType(getNamedType(candidate.type)),
  );
  // Drawn by name: fast-check compares drawn values, and schema objects are cyclic.
  const names = draw(
    fc.shuffledSubarray,
    fields.map((candidate) => candidate.name),
    { minLength: 1, maxLength: Math.min(4, fields.length) },
  );
  const chosen = names.map((name) => type.getFields()[name]!);
  const selections = chosen.map((owner) => field(draw, writing, owner, depth));
  if (draw(fc.boolean)) selections.push('__typename');
  // Some of them inside a fragment: named, inline with a type condition, or inline without.
  const way = draw(fc.integer, { min: 0, max: 5 });
  if (way > 2 || selections.length < 2) return `{ ${selections.join(' ')} }`;
  const inner = selections.splice(0, draw(fc.integer, { min: 1, max: selections.length - 1 }));
  if (way === 0) {
    const name = `F${writing.fragments.length}`;
    writing.fragments.push(`fragment ${name} on ${type.name} { ${inner.join(' ')} }`);
    selections.push(`...${name}`);
  } else {
    selections.push(`...${way === 1 ? ` on ${type.name}` : ''} { ${inner.join(' ')} }`);
  }
  return `{ ${draw(fc.shuffledSubarray, selections, { minLength: selections.length }).join(' ')} }`;
}

export function randomOperation(
  draw: Draw,
  {
    strings,
    roots = ['query', 'query', 'query', 'subscription'],
  }: { strings: string[]; roots?: ('query' | 'subscription')[] },
) {
  const writing: Writing = { strings, aliases: 0, variables: new Map(), fragments: [] };
  const root = draw(fc.constantFrom, ...roots);
  const type = (root === 'query' ? schema.getQueryType() : schema.getSubscriptionType())!;
  const selection =
    root === 'subscription'
      ? `{ ${field(draw, writing, type.getFields()[draw(fc.constantFrom, ...Object.keys(type.getFields()))]!, 1)} }`
      : selectionSet(draw, writing, type, 1);
  const name = draw(fc.constantFrom, '', 'Op');
  const declared = [...writing.variables].map(([variable, { type: t }]) => `$${variable}: ${t}`);
  const header = `${root}${name ? ` ${name}` : ''}${declared.length ? `(${declared.join(', ')})` : ''}`;
  // A second operation beside a named one: operationName picks.
  const others = name && draw(fc.boolean) ? ['query Other { eventCursor }'] : [];
  return {
    source: [`${header} ${selection}`, ...others, ...writing.fragments].join('\n'),
    variables: Object.fromEntries(
      [...writing.variables].map(([variable, { value }]) => [variable, value]),
    ),
    operationName: others.length ? name || undefined : undefined,
  };
}

export const isValid = (document: DocumentNode) => {
  try {
    return validate(schema, document).length === 0;
  } catch {
    return false;
  }
};
