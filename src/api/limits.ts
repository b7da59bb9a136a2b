import { Buffer } from 'node:buffer';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { useQueryCost } from './query-cost.js';
import type { ErrorCode } from '../errors.js';

/** extensions.code of an operation over a query limit; extensions.limit names which one. */
export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX' satisfies ErrorCode;
/** extensions.code of the 413 answer to an HTTP body over MAX_REQUEST_BYTES. */
export const PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE' satisfies ErrorCode;
/** extensions.code of an operation over MAX_SUBSCRIPTIONS_PER_CONNECTION; the socket stays. */
export const TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS' satisfies ErrorCode;

export type QueryLimit = 'depth' | 'aliases' | 'cost' | 'tokens' | 'directives';

/**
 * graphql-armor's depth, alias, token and directive limits, as Envelop plugins: Yoga runs them
 * for HTTP, and graphql-ws gets them through `yoga.getEnveloped`. Its errors carry no code and
 * read "Syntax Error: …", so each rejection is re-reported with QUERY_TOO_COMPLEX. The cost
 * limit is our own (query-cost.ts): armor's ignores `limit` and variables.
 */
export function useQueryLimits(config: Config): Plugin {
  const reject = { propagateOnRejection: false };
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: config.MAX_QUERY_DEPTH, ...reject, onReject: [rejectAs('depth')] },
    maxAliases: { n: config.MAX_QUERY_ALIASES, ...reject, onReject: [rejectAs('aliases')] },
    costLimit: { enabled: false },
    maxTokens: { n: config.MAX_QUERY_TOKENS, ...reject, onReject: [rejectAs('tokens')] },
    maxDirectives: {
      n: config.MAX_QUERY_DIRECTIVES,
      ...reject,
      onReject: [rejectAs('directives')],
    },
    // "Did you mean …?" would spell out the schema that disabled introspection hides.
    blockFieldSuggestion: { enabled: !config.INTROSPECTION },
  }) as Plugin;
  const cost = useQueryCost(config.MAX_QUERY_COST, QUERY_TOO_COMPLEX);
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(armor);
      addPlugin(cost);
    },
  };
}

function rejectAs(limit: QueryLimit) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const limited = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
      extensions: { code: QUERY_TOO_COMPLEX, limit },
    });
    // Validation rules report into their context, so every problem is answered at once; the
    // token counter runs inside the parser, which has no context: throwing stops it there.
    if (!context) throw limited;
    context.reportError(limited);
  };
}

/**
 * Answers 413 to a body over `maxBytes`. A declared Content-Length is checked before anything is
 * read (Node never reads past it); a chunked body is read here up to the limit and handed on.
 */
export function useRequestBodyLimit(maxBytes: number): Plugin {
  const tooLarge = (
    fetchAPI: { Response: typeof Response },
    headers: Record<string, string> = {},
  ) =>
    new fetchAPI.Response(
      JSON.stringify({
        errors: [
          {
            message: `the request body is larger than ${maxBytes} bytes`,
            extensions: { code: PAYLOAD_TOO_LARGE },
          },
        ],
      }),
      { status: 413, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } },
    );
  return {
    async onRequest({ request, fetchAPI, endResponse, setRequest }) {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (Number(declared) > maxBytes) endResponse(tooLarge(fetchAPI));
        return;
      }
      if (!request.body) return;
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          // Not cancelled, which would destroy the socket before the 413 is written; closed
          // after it instead, as the rest of the body is never read.
          reader.releaseLock();
          endResponse(tooLarge(fetchAPI, { connection: 'close' }));
          return;
        }
        chunks.push(value);
      }
      setRequest(
        new fetchAPI.Request(request.url, {
          method: request.method,
          headers: request.headers,
          body: Buffer.concat(chunks),
          signal: request.signal,
        }),
      );
    },
  };
}

/**
 * The errors for an operation that would exceed `max` at once on one graphql-ws connection, or
 * undefined. graphql-ws enters the operation being started in `subscriptions` before it calls
 * onSubscribe, so it counts itself; queries and mutations count while they run.
 */
export function subscriptionCapErrors(
  subscriptions: Record<string, unknown>,
  max: number,
): GraphQLError[] | undefined {
  if (Object.keys(subscriptions).length <= max) return undefined;
  return [
    createGraphQLError(`at most ${max} operations may run at once on one connection`, {
      extensions: { code: TOO_MANY_SUBSCRIPTIONS },
    }),
  ];
}
