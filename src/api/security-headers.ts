import type { ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';

/** JSON and event streams: they load nothing, and nothing may frame them. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * Headers for every HTTP response (health checks included). HSTS only in production, where a TLS
 * proxy is in front: sent over plain HTTP in development it would pin localhost to HTTPS.
 */
export function createSecurityHeaders({
  production,
  graphiqlPolicy = () => API_POLICY,
}: {
  production: boolean;
  /** The policy of the one HTML page Yoga serves, GraphiQL (src/api/graphiql.ts). */
  graphiqlPolicy?: () => string;
}) {
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
    /** Gives the one HTML page Yoga serves, GraphiQL, its own policy. */
    plugin: {
      onResponse({ response }) {
        if (response.headers.get('content-type')?.startsWith('text/html')) {
          response.headers.set('content-security-policy', graphiqlPolicy());
        }
      },
    } satisfies Plugin,
  };
}
