import pg from 'pg';

/**
 * One query on its own connection: for tests (and the bench) that look at the database behind a
 * process. Free of Vitest, so the bench can use it and what imports it.
 */
export async function query<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}
