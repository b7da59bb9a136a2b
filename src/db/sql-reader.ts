import { createHash } from 'node:crypto';
import pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';

/**
 * What the read helpers need of a database: raw SQL in, rows out, typed as Prisma's `$queryRaw`
 * types them. The Prisma client and its transactions are readers; so is `pgReader` of a pool or
 * a taken client, for the reads every connecting client makes.
 */
export interface SqlReader {
  $queryRaw<T = unknown>(
    query: TemplateStringsArray | Prisma.Sql,
    ...values: unknown[]
  ): Promise<T>;
}

/** node-postgres gives int8 as a string, Prisma as a bigint: so does this. */
const prismaTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) =>
    oid === pg.types.builtins.INT8
      ? (text: string) => BigInt(text)
      : pg.types.getTypeParser(oid, format),
};

/**
 * A reader on node-postgres: a pool (any connection) or one taken client (its transaction).
 * Each statement is prepared once per connection, named after its text: the connect reads are
 * large, and planning them afresh each time cost PostgreSQL more than running them. So only for
 * statements that come in a few shapes, their values passed as parameters: every shape is kept
 * on every connection.
 */
export function pgReader(target: Pick<pg.Pool | pg.PoolClient, 'query'>): SqlReader {
  return {
    async $queryRaw<T>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) {
      const sql = query instanceof Prisma.Sql ? query : Prisma.sql(query, ...(values as []));
      const { text } = sql;
      const { rows } = await target.query({
        name: statementName(text),
        text,
        values: sql.values,
        types: prismaTypes,
      });
      return rows as T;
    },
  };
}

/** Names differ where texts do: node-postgres refuses one name for two texts. */
const statementName = (text: string) =>
  `read-${createHash('sha1').update(text).digest('base64url')}`;
