import pg from 'pg';

/**
 * Columns the service's own timers change while a test runs (heartbeats, the job scheduler's
 * bookkeeping): no request writes them, so a "nothing changed" comparison leaves them out.
 */
const CHANGED_BY_TIMERS: Record<string, string[]> = {
  Instance: ['heartbeatAt'],
  agenda_jobs: [
    'next_run_at',
    'locked_at',
    'last_run_at',
    'last_finished_at',
    'failed_at',
    'fail_count',
    'fail_reason',
    'progress',
    'last_modified_by',
    'updated_at',
  ],
};

/**
 * Every row of every table of the public schema (but the migration history), by table, each
 * row as JSON and the rows sorted: read from the catalogue, so a table added later is covered
 * without anyone remembering to list it.
 */
export async function snapshotTables(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
          AND table_name <> '_prisma_migrations'
        ORDER BY table_name`,
    );
    const snapshot: Record<string, string[]> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ row: Record<string, unknown> }>(
        `SELECT to_jsonb(t) AS row FROM "${name}" t`,
      );
      snapshot[name] = rows
        .map(({ row }) => {
          for (const column of CHANGED_BY_TIMERS[name] ?? []) delete row[column];
          return JSON.stringify(row);
        })
        .sort();
    }
    return snapshot;
  } finally {
    await client.end();
  }
}
