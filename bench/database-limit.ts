import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Prisma } from '../src/generated/prisma/client.js';
import { appendEventsSql } from '../src/notifications/event-log.js';
import { IDEMPOTENCY_WINDOW } from '../src/notifications/send.js';
import { userStream } from '../src/notifications/types.js';

// The database limit, a separate process: what a one-recipient send costs PostgreSQL alone. The
// service's own two statements (the category lookup, then the one CTE that claims the key and
// stores the notification, its receipt and its event) run through `pg` with prepared
// statements on several connections at once, with no HTTP, GraphQL or Prisma in between: the
// most sends/s this machine's PostgreSQL gives the service's schema.

interface Args {
  databaseUrl: string;
  connections: number;
  seconds: number;
  rounds: number;
  users: number;
}

const CATEGORY_LOOKUP = {
  name: 'bench-category',
  text: `SELECT name, "expireAfterSeconds", "deleteAfterSeconds", "requireAck", priority,
           "batchWindowSeconds", "createdAt", "updatedAt"
         FROM "Category" WHERE name = $1 LIMIT 1`,
};

interface CategoryRow {
  name: string;
  priority: string;
  requireAck: boolean;
  batchWindowSeconds: number | null;
  deleteAfterSeconds: number | null;
}

/**
 * send.ts's statement for a private send without an idempotency key, kept in step by hand (it
 * is inline there); the event CTEs are the service's own.
 */
function sendStatement(category: CategoryRow, recipients: string[], title: string) {
  const id = randomUUID();
  const key: string | null = null;
  const streams = recipients.map(userStream);
  const storedResult = { notificationId: id, recipientCount: recipients.length };
  const deleteAt = new Date(Date.now() + (category.deleteAfterSeconds ?? 30 * 86_400) * 1000);
  return Prisma.sql`
    WITH claim AS (
      INSERT INTO "IdempotencyKey" (service, key, result)
      SELECT ${'bench'}, ${key}::text, ${JSON.stringify(storedResult)}::jsonb WHERE ${key}::text IS NOT NULL
      ON CONFLICT (service, key) DO UPDATE SET result = EXCLUDED.result, "createdAt" = now()
        WHERE "IdempotencyKey"."createdAt" < now() - ${IDEMPOTENCY_WINDOW}::interval
      RETURNING 1),
    go AS (SELECT WHERE ${key}::text IS NULL OR EXISTS (SELECT FROM claim)),
    notification AS (
      INSERT INTO "Notification" (id, "categoryName", priority, "requireAck",
        "batchWindowSeconds", public, sender,
        title, body, data, icon, "actionUrl", "templateKey", "expiresAt", "deleteAt")
      SELECT ${id}::uuid, ${category.name}, ${category.priority}::"NotificationPriority",
        ${category.requireAck}, ${category.batchWindowSeconds}::int, ${false},
        ${'bench'}, ${title}, ${null}, ${null}::jsonb, ${null}, ${null}, ${null},
        ${null}::timestamptz, ${deleteAt}::timestamptz
      FROM go
      RETURNING *),
    receipts AS (
      INSERT INTO "Receipt" ("notificationId", "userId")
      SELECT ${id}::uuid, recipient FROM go, unnest(${recipients}::text[]) recipient),
    ${appendEventsSql(Prisma.sql`
      SELECT stream, 'CREATED'::"NotificationEventType" AS type, ${id}::uuid AS "notificationId",
        NULL::jsonb AS tombstone, ord
      FROM go, unnest(${streams}::text[]) WITH ORDINALITY AS s(stream, ord)`)}
    SELECT n.*, (SELECT coalesce(json_agg(events), '[]') FROM events) AS events FROM notification n`;
}

async function send(client: pg.Client, userId: string, title: string) {
  const {
    rows: [category],
  } = await client.query<CategoryRow>({ ...CATEGORY_LOOKUP, values: ['bench'] });
  const statement = sendStatement(category!, [userId], title);
  await client.query({ name: 'bench-send', text: statement.text, values: statement.values });
}

/** Sends/s of each round: every connection sends one after another for `seconds`. */
async function measure(args: Args): Promise<number[]> {
  const clients = await Promise.all(
    Array.from({ length: args.connections }, async () => {
      const client = new pg.Client({ connectionString: args.databaseUrl });
      await client.connect();
      return client;
    }),
  );
  try {
    await clients[0]!.query(
      `INSERT INTO "Category" (name, "updatedAt") VALUES ('bench', now()) ON CONFLICT DO NOTHING`,
    );
    const perRound: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      let sent = 0;
      const started = performance.now();
      const end = started + args.seconds * 1000;
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < end) {
            const userId = `limit-${Math.floor(Math.random() * args.users)}`;
            await send(client, userId, `limit-${round}-${sent++}`);
          }
        }),
      );
      perRound.push(sent / ((performance.now() - started) / 1000));
    }
    return perRound;
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

process.once('message', (args: Args) => {
  measure(args).then(
    (perRound) => process.send!({ perRound }, () => process.exit(0)),
    (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
  );
});
process.send!({ ready: true });
