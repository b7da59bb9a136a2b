import type { ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';

/** JSON and event streams: they load nothing, and nothing may frame them. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
/**
 * GraphiQL runs inline scripts, loads its bundle, styles and editor workers from unpkg and makes
 * blob: workers of them; a policy that allowed all that would protect little, so its page only
 * refuses to be framed.
 */
const GRAPHIQL_POLICY = "frame-ancestors 'none'";

/**
 * Headers for every HTTP response (health checks included). HSTS only in production, where a TLS
 * proxy is in front: sent over plain HTTP in development it would pin localhost to HTTPS.
 */
export function createSecurityHeaders({ production }: { production: boolean }) {
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': API_POLICY,
    ...(production && { 'strict-transport-security': 'max-age=31536000; includeSubDomains' }),
  };
  return {
    /** Sets the headers on a response before anything answers it. */
    apply(response: ServerResponse) {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    },
    /** Relaxes the policy for the one HTML page Yoga serves: GraphiQL. */
    plugin: {
      onResponse({ response }) {
        if (response.headers.get('content-type')?.startsWith('text/html')) {
          response.headers.set('content-security-policy', GRAPHIQL_POLICY);
        }
      },
    } satisfies Plugin,
  };
}
