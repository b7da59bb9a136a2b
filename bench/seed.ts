import pg from 'pg';

/**
 * Fills the database with `rows` notifications for 10,000 users (a third of each user's
 * unseen), one in a thousand public, in a few set-based statements.
 */
export async function seedNotifications(databaseUrl: string, rows: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO "Category" (name, "updatedAt") VALUES ('bench', now()) ON CONFLICT DO NOTHING`,
    );
    await client.query(
      `INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, body, sender, "createdAt", "deleteAt")
       SELECT 'bench', 'NORMAL', false, g % 1000 = 0, 'seeded ' || g, 'body of ' || g, 'bench-seed',
              now() - (g || ' seconds')::interval, now() + interval '30 days'
       FROM generate_series(1, $1) g`,
      [rows],
    );
    await client.query(
      `INSERT INTO "Receipt" ("notificationId", "userId", "seenAt")
       SELECT id, 'seed-' || (seq % 10000), CASE WHEN seq % 3 = 0 THEN NULL ELSE now() END
       FROM "Notification" WHERE sender = 'bench-seed' AND NOT public`,
    );
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

/**
 * Adds `rows` public notifications in one statement (the tallies' triggers run once for all):
 * a third of them expiring at times in the next day, in no order of seq.
 */
export async function seedPublicNotifications(databaseUrl: string, rows: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO "Category" (name, "updatedAt") VALUES ('bench', now()) ON CONFLICT DO NOTHING`,
    );
    await client.query(
      `INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, body, sender, "expiresAt", "deleteAt")
       SELECT 'bench', 'NORMAL', false, true, 'public ' || g, 'body of ' || g, 'bench-seed',
              CASE WHEN g % 3 = 0 THEN now() + (g % 1440) * interval '1 minute' + interval '1 hour' END,
              now() + interval '30 days'
       FROM generate_series(1, $1) g`,
      [rows],
    );
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}
