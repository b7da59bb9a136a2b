import type { YogaServerOptions } from 'graphql-yoga';

type CorsOption = YogaServerOptions<object, object>['cors'];

/**
 * Yoga's `cors` from CORS_ORIGINS: `*` allows any origin (the default outside production), an
 * empty list none (the default in production), a list those origins. A listed origin is echoed
 * back; any other gets no CORS headers at all (whatwg-node would answer "null" to it, an origin
 * that sandboxed pages have).
 */
export function corsOption(origins: readonly string[]): CorsOption {
  if (origins.includes('*')) return undefined;
  if (origins.length === 0) return false;
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) {
      // whatwg-node sends no CORS headers when the options are `false`.
      return false as unknown as { origin: string };
    }
    return {
      // With several listed, whatwg-node echoes the request's and adds `Vary: Origin`.
      origin: allowed.size === 1 ? origin : [...allowed],
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-request-id', 'accept'],
      maxAge: 600,
    };
  };
}
