import { randomUUID } from 'node:crypto';
import { createPool, type Pool } from '../src/db/client.js';
import { storeSends } from '../src/notifications/send-statement.js';
import { userStream } from '../src/notifications/types.js';

// The database limit, a separate process: what a one-recipient send costs PostgreSQL alone. The
// service's own send statement (send-statement.ts: it claims the key and stores the notification,
// its receipt and its event) runs prepared through `pg` on several connections at once, one send
// per statement, with no HTTP, GraphQL or Prisma in between: the most sends/s this machine's
// PostgreSQL gives the service's schema without grouping. (The category is read from the
// service's cache, so no lookup is counted.)

interface Args {
  databaseUrl: string;
  connections: number;
  seconds: number;
  rounds: number;
  users: number;
}

const DELETE_AFTER_MS = 30 * 86_400 * 1000;

function send(pool: Pool, userId: string, title: string) {
  return storeSends(pool, [
    {
      id: randomUUID(),
      sender: 'bench',
      idempotencyKey: null,
      category: 'bench',
      priority: 'NORMAL',
      requireAck: false,
      batchWindowSeconds: null,
      public: false,
      title,
      body: null,
      data: null,
      icon: null,
      actionUrl: null,
      templateKey: null,
      groupKey: null,
      expiresAt: null,
      deleteAt: new Date(Date.now() + DELETE_AFTER_MS),
      recipients: [userId],
      streams: [userStream(userId)],
    },
  ]);
}

/** Sends/s of each round: every connection sends one after another for `seconds`. */
async function measure(args: Args): Promise<number[]> {
  const pool = createPool(args.databaseUrl, args.connections);
  try {
    await pool.query(
      `INSERT INTO "Category" (name, "updatedAt") VALUES ('bench', now()) ON CONFLICT DO NOTHING`,
    );
    const perRound: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      let sent = 0;
      const started = performance.now();
      const end = started + args.seconds * 1000;
      await Promise.all(
        Array.from({ length: args.connections }, async () => {
          while (performance.now() < end) {
            const userId = `limit-${Math.floor(Math.random() * args.users)}`;
            await send(pool, userId, `limit-${round}-${sent++}`);
          }
        }),
      );
      perRound.push(sent / ((performance.now() - started) / 1000));
    }
    return perRound;
  } finally {
    await pool.end();
  }
}

process.once('message', (args: Args) => {
  measure(args).then(
    (perRound) => process.send!({ perRound }, () => process.exit(0)),
    (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
  );
});
process.send!({ ready: true });
