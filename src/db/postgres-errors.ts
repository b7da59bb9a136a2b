// SQLSTATEs the service acts on, read the same way whether the error came from pg directly or
// through Prisma's driver adapter (which keeps it at meta.driverAdapterError.cause.originalCode).

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
