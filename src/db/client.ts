import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type Database = PrismaClient;
/** The client or a transaction: what read helpers take, so they work inside either. */
export type Queryable = Prisma.TransactionClient;
/** node-postgres's pool: the hot statements run on it directly, as prepared statements. */
export type Pool = pg.Pool;
/** A database to read from: through Prisma, or through the pool under it for hot reads. */
export interface ReadTarget {
  database: Database;
  pool: Pool;
}

/** `poolSize` unset: node-postgres's default. */
export function createPool(url: string, poolSize?: number): Pool {
  // JIT compiling costs hundreds of ms per statement and only pays off for analytics; the
  // planner's cost guesses for a user with a long history would trigger it on hot queries.
  return new pg.Pool({ connectionString: url, max: poolSize, options: '-c jit=off' });
}

/**
 * Prisma on `pool` (shared with the hot statements, so one instance holds one set of
 * connections; ending the pool is its owner's job), or on a pool of its own for `url`.
 */
export function createDatabase(source: string | Pool, poolSize?: number): Database {
  const adapter =
    typeof source === 'string'
      ? new PrismaPg({ connectionString: source, max: poolSize, options: '-c jit=off' })
      : new PrismaPg(source);
  return new PrismaClient({ adapter });
}

/**
 * A client taken from `pool` for several statements (a transaction). pg-pool listens for a
 * client's errors only while it sits idle in the pool: one whose connection breaks while it is
 * taken, between two statements (PostgreSQL restarted), emits an 'error' nobody hears, and that
 * ends the process. This listens while it is taken, and gives a broken client back to be
 * destroyed rather than reused.
 */
export async function takeClient(pool: Pool): Promise<{ client: pg.PoolClient; release(): void }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  return {
    client,
    release() {
      client.removeListener('error', onError);
      client.release(broken);
    },
  };
}

/**
 * Runs `work` in a transaction on a client taken with takeClient: committed when it resolves,
 * rolled back when it throws (and the error passed on). `begin` may set the transaction's
 * modes in the same round trip (`BEGIN ISOLATION LEVEL ...`).
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const { client, release } = await takeClient(pool);
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    release();
  }
}
