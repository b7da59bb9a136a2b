// Database errors the service acts on, read the same way whether they came from pg directly or
// through Prisma's driver adapter (which keeps the SQLSTATE at
// meta.driverAdapterError.cause.originalCode).

/** A statement gave up waiting for a lock (lock_timeout). */
export const LOCK_NOT_AVAILABLE = '55P03';
/**
 * serialization_failure: on a hot standby, a read cancelled (or its session ended) because WAL
 * replay could not wait for it, "conflict with recovery".
 */
export const SERIALIZATION_FAILURE = '40001';

interface Wrapped {
  code?: unknown;
  meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } };
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlStateOf(error: unknown): string | undefined {
  const wrapped = error as Wrapped | null | undefined;
  const original = wrapped?.meta?.driverAdapterError?.cause?.originalCode;
  if (typeof original === 'string') return original;
  return typeof wrapped?.code === 'string' && /^[0-9A-Z]{5}$/.test(wrapped.code)
    ? wrapped.code
    : undefined;
}

/**
 * Prisma's codes for a database that cannot be reached or dropped the connection: can't reach
 * (P1001), timed out (P1002, P1008), connection closed (P1017), no pooled connection in time
 * (P2024), transaction could not start or was lost in time (P2028), too many connections (P2037).
 */
const UNAVAILABLE_PRISMA_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'P2028',
  'P2037',
]);
/** What @prisma/adapter-pg calls the same conditions in a DriverAdapterError's cause. */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/**
 * PostgreSQL SQLSTATEs of a server going away or not accepting work yet: connection exceptions
 * (class 08), admin or crash shutdown and "starting up" (57P01-57P03), too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;
/** Node's socket errors for a peer that is gone or unreachable. */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** node-postgres throws these as plain Errors, which the adapter passes on unconverted. */
const UNAVAILABLE_DRIVER_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * True when `error` (or what it wraps: `cause`, Prisma's `meta.driverAdapterError`, an
 * AggregateError's `errors`) says the database is unreachable or dropped the connection: a
 * condition that passes by itself, so worth a retry. Recognised by shape, since the classes
 * live in Prisma's runtime, the adapter and node-postgres.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== 'object' || value === null || depth > 6 || seen.has(value)) return false;
    seen.add(value);
    const candidate = value as {
      code?: unknown;
      kind?: unknown;
      message?: unknown;
      name?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
      errors?: unknown;
      originalError?: unknown;
    };
    const { code, kind, message } = candidate;
    if (typeof code === 'string') {
      if (UNAVAILABLE_PRISMA_CODES.has(code)) return true;
      if (UNAVAILABLE_SOCKET_CODES.has(code)) return true;
      // A SQLSTATE, on a node-postgres error or an adapter cause of kind "postgres".
      if ((kind === 'postgres' || 'severity' in candidate) && UNAVAILABLE_SQLSTATE.test(code)) {
        return true;
      }
    }
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
    if (typeof message === 'string' && candidate.name !== 'GraphQLError') {
      if (UNAVAILABLE_DRIVER_MESSAGE.test(message)) return true;
    }
    const nested = [
      candidate.originalError,
      candidate.cause,
      candidate.meta?.driverAdapterError,
      ...(Array.isArray(candidate.errors) ? (candidate.errors as unknown[]) : []),
    ];
    return nested.some((inner) => visit(inner, depth + 1));
  };
  return visit(error, 0);
}
