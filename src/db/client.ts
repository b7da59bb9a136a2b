import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type Database = PrismaClient;
/** The client or a transaction: what read helpers take, so they work inside either. */
export type Queryable = Prisma.TransactionClient;

/** `poolSize` unset: node-postgres's default. */
export function createDatabase(url: string, poolSize?: number): Database {
  // JIT compiling costs hundreds of ms per statement and only pays off for analytics; the
  // planner's cost guesses for a user with a long history would trigger it on hot queries.
  const adapter = new PrismaPg({ connectionString: url, max: poolSize, options: '-c jit=off' });
  return new PrismaClient({ adapter });
}
