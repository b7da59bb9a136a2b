import pg from 'pg';

/** Runs `work` on a connection of its own to `databaseUrl`, closed afterwards. */
export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const SEEDED_USERS = 10_000;
/** Seeded notifications are due over this many days, as with the default deleteAfterSeconds. */
export const SEEDED_DELETE_DAYS = 30;

/**
 * Fills the database with `rows` notifications for SEEDED_USERS users (a third of each user's
 * unseen), one in a thousand public, due over SEEDED_DELETE_DAYS days, in a few set-based
 * statements.
 */
export async function seedNotifications(databaseUrl: string, rows: number) {
  return withClient(databaseUrl, async (client) => {
    await client.query(
      `INSERT INTO "Category" (name, "updatedAt") VALUES ('bench', now()) ON CONFLICT DO NOTHING`,
    );
    await client.query(
      `INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, body, sender, "createdAt", "deleteAt")
       SELECT 'bench', 'NORMAL', false, g % 1000 = 0, 'seeded ' || g, 'body of ' || g, 'bench-seed',
              now() - (g || ' seconds')::interval, now() + interval '1 hour' + (g % $2) * interval '1 day'
       FROM generate_series(1, $1) g`,
      [rows, SEEDED_DELETE_DAYS],
    );
    await client.query(
      `INSERT INTO "Receipt" ("notificationId", "userId", "seenAt", seq)
       SELECT id, 'seed-' || (seq % $1), CASE WHEN seq % 3 = 0 THEN NULL ELSE now() END, seq
       FROM "Notification" WHERE sender = 'bench-seed' AND NOT public`,
      [SEEDED_USERS],
    );
    await client.query('ANALYZE');
  });
}

/**
 * Adds `rows` public notifications in one statement (the tallies' triggers run once for all):
 * a third of them expiring at times in the next day, in no order of seq.
 */
export async function seedPublicNotifications(databaseUrl: string, rows: number) {
  return withClient(databaseUrl, async (client) => {
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
  });
}

/**
 * Makes `topic` a topic of `members` users: `online` (the load generator's connected users)
 * and as many more offline ones as make up the number, in one statement.
 */
export async function seedTopic(
  databaseUrl: string,
  topic: string,
  online: string[],
  members: number,
) {
  return withClient(databaseUrl, async (client) => {
    await client.query(`INSERT INTO "Topic" (name, "memberCount") VALUES ($1, $2)`, [
      topic,
      members,
    ]);
    await client.query(
      `INSERT INTO "TopicMember" (topic, "userId")
       SELECT $1, u FROM unnest($2::text[]) u
       UNION ALL SELECT $1, 'offline-' || g FROM generate_series(1, $3) g`,
      [topic, online, members - online.length],
    );
    await client.query('ANALYZE "TopicMember"');
  });
}

/**
 * The database's own cost of a topic send's rows: one INSERT ... SELECT of a receipt per member
 * for a notification stored beforehand (then deleted with them), in ms.
 */
export async function receiptsInsertMs(databaseUrl: string, topic: string) {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string; seq: string }>(
      `INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender, "deleteAt")
       VALUES ('bench', 'NORMAL', false, false, 'limit', 'bench-limit', now() + interval '1 day')
       RETURNING id, seq`,
    );
    const started = performance.now();
    await client.query(
      `INSERT INTO "Receipt" ("notificationId", "userId", seq)
       SELECT $1, "userId", $3 FROM "TopicMember" WHERE topic = $2 ORDER BY "userId"`,
      [rows[0]!.id, topic, rows[0]!.seq],
    );
    const ms = performance.now() - started;
    await client.query(`DELETE FROM "Notification" WHERE id = $1`, [rows[0]!.id]);
    return ms;
  });
}

/**
 * Brings the planner's statistics up to date, as autovacuum (and, for the event log as a whole,
 * the retention job) does within minutes: a phase measured after bulk phases then sees the
 * steady state, not statistics from before them.
 */
export async function analyze(databaseUrl: string) {
  return withClient(databaseUrl, async (client) => {
    await client.query('ANALYZE');
  });
}
