import type { Database } from '../../src/db/client.js';
import { Prisma } from '../../src/generated/prisma/client.js';

/** A node of PostgreSQL's `EXPLAIN (FORMAT JSON)` plan, as far as the tests read it. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  /** With EXPLAIN ANALYZE: rows each loop produced, and the loops. */
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Every node of a plan, its root first. */
export const nodesOf = (node: PlanNode): PlanNode[] => [
  node,
  ...(node.Plans ?? []).flatMap(nodesOf),
];

/** How PostgreSQL plans a statement: for the values given, or as the generic plan of a prepared one. */
export type PlanMode = 'auto' | 'force_generic_plan';

/** Every node of the plan of `sql` on `database` in `planMode`; with `analyze`, as it ran. */
export async function planNodes(
  database: Database,
  sql: Prisma.Sql,
  planMode: PlanMode,
  { analyze = false } = {},
) {
  const explain = Prisma.raw(analyze ? 'EXPLAIN (ANALYZE, FORMAT JSON)' : 'EXPLAIN (FORMAT JSON)');
  const [, [{ 'QUERY PLAN': plan }]] = await database.$transaction([
    database.$executeRawUnsafe(`SET LOCAL plan_cache_mode = ${planMode}`),
    database.$queryRaw<[{ 'QUERY PLAN': unknown }]>`${explain} ${sql}`,
  ]);
  return nodesOf((plan as [{ Plan: PlanNode }])[0].Plan);
}
