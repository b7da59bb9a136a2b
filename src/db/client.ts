import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type Database = PrismaClient;
/** The client or a transaction: what read helpers take, so they work inside either. */
export type Queryable = Prisma.TransactionClient;

/** `poolSize` unset: node-postgres's default. */
export function createDatabase(url: string, poolSize?: number): Database {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}
