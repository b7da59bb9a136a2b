import type { Logger } from '../logger.js';
import { createDatabase, createPool, type Database, type Pool, type ReadTarget } from './client.js';
import { within } from '../within.js';

/** Where a request's reads went, and why not the replica when they did not. */
export interface ReplicaObserver {
  served(target: 'replica' | 'primary'): void;
  fallback(reason: 'lagging' | 'failed' | 'conflict'): void;
}

export interface ReplicaReads {
  /**
   * The database to read from for a request that must see everything committed before it began:
   * the replica once it has replayed past the primary's current WAL position (the client was
   * only told of what was committed, and events are published after commit), else the primary.
   */
  choose(): Promise<ReadTarget>;
  /** The primary, for a request whose replica reads were cancelled or lost their connection. */
  primaryAfter(reason: 'conflict' | 'failed'): ReadTarget;
  /** Resolves while the replica answers (for /readyz). */
  check(): Promise<void>;
  close(): Promise<void>;
}

const POLL_MS = 5;

/**
 * Client-facing reads on a PostgreSQL streaming replica. No "replica passed X" is cached: the
 * position to pass is the primary's when the request begins, which only the primary can tell
 * (one tiny query). A replica that lags past `maxWaitMs`, fails or is away costs the request
 * that wait, never its answer: it is read from the primary.
 */
export function createReplicaReads(options: {
  primaryPool: Pool;
  primary: Database;
  url: string;
  poolSize?: number;
  maxWaitMs: number;
  logger: Logger;
  observer: ReplicaObserver;
}): ReplicaReads {
  const { primaryPool, primary, maxWaitMs, logger, observer } = options;
  const pool = createPool(options.url, options.poolSize);
  pool.on('error', (error) => logger.warn({ err: error }, 'idle replica connection failed'));
  const replica = { database: createDatabase(pool), pool };
  const primaryTarget = { database: primary, pool: primaryPool };

  // With synchronous_commit on, a commit is flushed, so at or before pg_current_wal_lsn().
  const replayed = async (lsn: string) => {
    const { rows } = await pool.query<{ passed: boolean | null }>(
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS passed',
      [lsn],
    );
    return rows[0]?.passed === true;
  };

  const waitFor = async (lsn: string) => {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      if (await replayed(lsn)) return true;
      if (Date.now() + POLL_MS > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  return {
    async choose() {
      const { rows } = await primaryPool.query<{ lsn: string }>(
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      let caughtUp: boolean;
      try {
        // An unreachable replica may not even refuse a connection: the wait is bounded anyway.
        caughtUp = await within(waitFor(rows[0]!.lsn), maxWaitMs + 50, false);
      } catch (error) {
        logger.debug({ err: error }, 'replica read failed; reading from the primary');
        observer.fallback('failed');
        observer.served('primary');
        return primaryTarget;
      }
      if (!caughtUp) observer.fallback('lagging');
      observer.served(caughtUp ? 'replica' : 'primary');
      return caughtUp ? replica : primaryTarget;
    },
    primaryAfter(reason) {
      observer.fallback(reason);
      observer.served('primary');
      return primaryTarget;
    },
    async check() {
      await pool.query('SELECT 1');
    },
    async close() {
      await replica.database.$disconnect();
      await pool.end();
    },
  };
}
