import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, takeClient, type Pool } from '../src/db/client.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

// A client taken from the pool for a transaction whose connection breaks between two statements
// (PostgreSQL restarted under a running instance): the process must live on, and the pool must
// not hand the broken client out again.

let database: TestDatabase;
let pool: Pool;
let admin: Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, 2);
  admin = createPool(database.url, 1);
});
afterAll(async () => {
  await pool.end();
  await admin.end();
  await database.drop();
});

describe('takeClient', () => {
  it('survives its connection being terminated while it is taken, and the pool serves on', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const { client, release } = await takeClient(pool);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      // The connection's end reaches the client between statements, with no query to fail.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      expect(uncaught).toEqual([]);
      const again = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(again.rows).toEqual([{ one: 1 }]);
    } finally {
      process.removeListener('uncaughtException', record);
    }
  });
});
