// Start-up failures told the way a person at the terminal needs them: what is wrong, and what
// to do about it. A bare "failed to start" leaves them to guess.

/** A start-up failure: `reason` says what went wrong, `fix` what to do about it. */
export class StartFailure extends Error {
  constructor(
    readonly reason: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'StartFailure';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/** The node or PostgreSQL error code of `error` or of an error it wraps. */
export function errorCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string') return code;
    const [first] = (current as { errors?: unknown[] }).errors ?? []; // AggregateError: IPv4 + IPv6
    if (first) return errorCode(first);
  }
  return undefined;
}

/** Whether `error` says a server could not be reached at all (refused, unknown host, timeout). */
export const isUnreachable = (error: unknown) => CONNECTION_CODES.has(errorCode(error) ?? '');

/** `host:port` of a URL, without credentials. */
export function whereOf(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return port ? `${hostname}:${port}` : hostname;
  } catch {
    return 'an address that is not a URL';
  }
}

/** A connection refused on every address of a host is an AggregateError with no message. */
export const messageOf = (error: unknown) =>
  error instanceof Error ? error.message || errorCode(error) || error.name : String(error);
