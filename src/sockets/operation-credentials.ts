import type { Credentials } from '../auth/authenticate.js';

/**
 * The credentials in an operation's `extensions.headers`: GraphiQL (and other clients built on
 * graphql-tools' executors) open the socket without credentials and send the Headers tab with
 * each operation. Header names in any case.
 */
export function operationCredentials(
  extensions: Record<string, unknown> | null | undefined,
): Credentials | undefined {
  const headers = extensions?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const byName = new Map(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const),
  );
  const authorization = byName.get('authorization');
  const apiKey = byName.get('x-api-key');
  if (typeof authorization !== 'string' && typeof apiKey !== 'string') return undefined;
  return {
    authorization: typeof authorization === 'string' ? authorization : undefined,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
  };
}
