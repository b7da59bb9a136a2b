import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/client.js';
import { Prisma } from '../src/generated/prisma/client.js';
import {
  AGENDA_TABLE,
  MIGRATIONS_DIR,
  MigrationError,
  applyMigrations,
} from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const logger = createLogger('silent');

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (url: string) =>
  query<MigrationRow>(
    url,
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count
       FROM "_prisma_migrations" ORDER BY migration_name`,
  );

/** The migrations on disk, as `prisma migrate deploy` sees them: name and sha256 of the SQL. */
async function migrationsOnDisk(directory = MIGRATIONS_DIR) {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return Promise.all(
    names.sort().map(async (name) => ({
      name,
      checksum: createHash('sha256')
        .update(await readFile(path.join(directory, name, 'migration.sql')))
        .digest('hex'),
    })),
  );
}

const databases: TestDatabase[] = [];
async function emptyDatabase(): Promise<string> {
  const database = await createTestDatabase();
  databases.push(database);
  return database.url;
}
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe('applyMigrations', () => {
  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const url = await emptyDatabase();
    const onDisk = await migrationsOnDisk();
    expect(onDisk.length).toBeGreaterThan(0);

    expect(await applyMigrations(url, logger)).toEqual(onDisk.map(({ name }) => name));
    const rows = await migrationRows(url);
    expect(
      rows.map(({ migration_name, checksum }) => ({ name: migration_name, checksum })),
    ).toEqual(onDisk);
    for (const row of rows) {
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    expect(await applyMigrations(url, logger)).toEqual([]);
    expect(await migrationRows(url)).toEqual(rows);
  });

  it('applies each migration exactly once when two calls race on one database', async () => {
    const url = await emptyDatabase();
    const names = (await migrationsOnDisk()).map(({ name }) => name);

    const results = await Promise.all([applyMigrations(url, logger), applyMigrations(url, logger)]);

    expect(results.flat().sort()).toEqual(names);
    const counts = await query<{ migration_name: string; count: string }>(
      url,
      `SELECT migration_name, count(*) FROM "_prisma_migrations" GROUP BY migration_name
        ORDER BY migration_name`,
    );
    expect(counts).toEqual(names.map((name) => ({ migration_name: name, count: '1' })));
  });

  it("creates Agenda's jobs table", async () => {
    const url = await emptyDatabase();
    const [before] = await query<{ table: string | null }>(
      url,
      `SELECT to_regclass('${AGENDA_TABLE}')::text AS table`,
    );
    expect(before?.table).toBeNull();

    await applyMigrations(url, logger);

    const [after] = await query<{ table: string | null }>(
      url,
      `SELECT to_regclass('${AGENDA_TABLE}')::text AS table`,
    );
    expect(after?.table).toBe(AGENDA_TABLE);
  });

  describe('with a migration whose SQL fails', () => {
    let directory: string;
    const broken = '29991231000000_broken';
    beforeAll(async () => {
      directory = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
      await cp(MIGRATIONS_DIR, directory, { recursive: true });
      await mkdir(path.join(directory, broken));
      await writeFile(
        path.join(directory, broken, 'migration.sql'),
        'CREATE TABLE "Broken" ("id" INTEGER);\nSELECT * FROM "no_such_table";\n',
      );
    });
    afterAll(() => rm(directory, { recursive: true, force: true }));

    it('throws a MigrationError naming it, rolls it back and records no row for it', async () => {
      const url = await emptyDatabase();
      const error = await applyMigrations(url, logger, directory).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toContain(broken);
      expect((error as Error).message).toContain('no_such_table');
      const rows = await migrationRows(url);
      expect(rows.map((row) => row.migration_name)).toEqual(
        (await migrationsOnDisk()).map(({ name }) => name),
      );
      expect(rows.every((row) => row.finished_at instanceof Date)).toBe(true);
      const [table] = await query<{ table: string | null }>(
        url,
        `SELECT to_regclass('"Broken"')::text AS table`,
      );
      expect(table?.table).toBeNull();
    });
  });
});

describe('the migrated database', () => {
  let database: Database;
  beforeAll(async () => {
    const url = await emptyDatabase();
    await applyMigrations(url, logger);
    database = createDatabase(url);
  });
  afterAll(() => database.$disconnect());

  // Every field is set (none left to a default) to a value unlike the default, so what is read
  // back equals what was written only if each column exists with the type the client expects.
  const at = (iso: string) => new Date(iso);
  const category = {
    name: 'billing',
    expireAfterSeconds: 3600,
    deleteAfterSeconds: 86_400,
    requireAck: true,
    priority: 'URGENT' as const,
    batchWindowSeconds: 30,
    escalateAfterSeconds: 900,
    createdAt: at('2030-01-02T03:04:05.678Z'),
    updatedAt: at('2030-01-03T03:04:05.678Z'),
  };
  const notification = {
    id: '0b6f3a8e-3c1d-4e5f-9a7b-1c2d3e4f5a6b',
    seq: 9_007_199_254_740_993n, // beyond Number.MAX_SAFE_INTEGER: must be a real BIGINT
    categoryName: category.name,
    priority: 'HIGH' as const,
    requireAck: true,
    batchWindowSeconds: 30,
    public: true,
    title: 'Your invoice is ready',
    body: 'Invoice #42 is ready to download.',
    data: { invoice: 42, lines: [{ amount: 9.5 }], paid: false, note: null },
    icon: 'https://example.com/icon.png',
    actionUrl: 'https://example.com/invoices/42',
    templateKey: 'invoice-ready',
    groupKey: 'invoices',
    sender: 'billing-service',
    createdAt: at('2030-01-02T03:04:05.001Z'),
    editedAt: at('2030-01-02T03:30:05.001Z'),
    expiresAt: at('2030-01-02T04:04:05.001Z'),
    deleteAt: at('2030-01-03T03:04:05.001Z'),
  };
  const webhook = {
    id: '1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6',
    service: 'billing-service',
    url: 'https://hooks.example.com/notifications',
    events: ['SEEN', 'UNACKNOWLEDGED'] as ('SEEN' | 'UNACKNOWLEDGED')[],
    categories: ['billing', 'security'],
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    createdAt: at('2030-01-06T00:00:00.777Z'),
  };
  const instance = {
    id: '6a1d9f34-2b7c-4c8e-8f0a-5e4d3c2b1a09',
    hostname: 'worker-1',
    startedAt: at('2030-01-02T00:00:00.123Z'),
    heartbeatAt: at('2030-01-02T00:00:10.456Z'),
  };

  // Rows that others point at, written by whichever case needs them first.
  const ensureCategory = () =>
    database.category.upsert({ where: { name: category.name }, create: category, update: {} });
  const ensureNotification = async () => {
    await ensureCategory();
    await database.notification.upsert({
      where: { id: notification.id },
      create: notification,
      update: {},
    });
  };
  const ensureInstance = () =>
    database.instance.upsert({ where: { id: instance.id }, create: instance, update: {} });

  // Typed by Prisma.ModelName, so a model added to schema.prisma without a case here fails tsc.
  const roundTrips: Record<Prisma.ModelName, () => Promise<{ written: object; read: object }>> = {
    Category: async () => {
      await ensureCategory();
      return {
        written: category,
        read: await database.category.findUniqueOrThrow({ where: { name: category.name } }),
      };
    },
    Preference: async () => {
      await ensureCategory();
      const preference = {
        userId: 'user-42',
        categoryName: category.name,
        muted: true,
        updatedAt: at('2030-02-03T00:00:00.003Z'),
      };
      await database.preference.create({ data: preference });
      return {
        written: preference,
        read: await database.preference.findUniqueOrThrow({
          where: {
            userId_categoryName: { userId: preference.userId, categoryName: category.name },
          },
        }),
      };
    },
    Template: async () => {
      const template = {
        key: 'invoice-ready',
        title: 'Invoice {{number}} is ready',
        body: 'Download it at {{url}}.',
        createdAt: at('2030-02-01T00:00:00.001Z'),
        updatedAt: at('2030-02-02T00:00:00.002Z'),
      };
      await database.template.create({ data: template });
      return {
        written: template,
        read: await database.template.findUniqueOrThrow({ where: { key: template.key } }),
      };
    },
    Notification: async () => {
      await ensureNotification();
      return {
        written: notification,
        read: await database.notification.findUniqueOrThrow({ where: { seq: notification.seq } }),
      };
    },
    Receipt: async () => {
      await ensureNotification();
      const receipt = {
        notificationId: notification.id,
        userId: 'alice',
        seenAt: at('2030-01-02T03:05:00.100Z'),
        acknowledgedAt: at('2030-01-02T03:06:00.200Z'),
        requireAck: true,
        public: true,
        archivedAt: at('2030-01-02T03:07:00.300Z'),
        snoozedUntil: at('2030-01-02T05:00:00.400Z'),
        updatedAt: at('2030-01-02T03:07:00.300Z'),
        groupKey: 'invoices',
        groupCount: 3,
        seq: notification.seq,
      };
      await database.receipt.create({ data: receipt });
      return {
        written: receipt,
        read: await database.receipt.findUniqueOrThrow({
          where: { userId_notificationId: { userId: 'alice', notificationId: notification.id } },
        }),
      };
    },
    InboxState: async () => {
      const state = {
        userId: 'alice',
        publicSeenSeq: 9_007_199_254_740_993n,
        publicSeenAt: at('2030-01-05T00:00:00.555Z'),
      };
      await database.inboxState.create({ data: state });
      return {
        written: state,
        read: await database.inboxState.findUniqueOrThrow({ where: { userId: 'alice' } }),
      };
    },
    PublicTally: async () => {
      // A bucket no notification of this test falls in, so the triggers leave it alone.
      const tally = {
        bucket: 9_007_199_254_740n,
        categoryName: 'billing',
        priority: 'HIGH' as const,
        live: 7,
        requireAck: 3,
      };
      await database.publicTally.create({ data: tally });
      return {
        written: tally,
        read: await database.publicTally.findUniqueOrThrow({
          where: {
            categoryName_priority_bucket: {
              categoryName: 'billing',
              priority: 'HIGH',
              bucket: tally.bucket,
            },
          },
        }),
      };
    },
    PublicExpiry: async () => {
      const expiry = {
        seq: 9_007_199_254_740_001n,
        expiresAt: at('2030-01-06T00:00:00.321Z'),
        categoryName: 'billing',
        priority: 'LOW' as const,
        requireAck: true,
      };
      await database.publicExpiry.create({ data: expiry });
      return {
        written: expiry,
        read: await database.publicExpiry.findUniqueOrThrow({ where: { seq: expiry.seq } }),
      };
    },
    PublicExpirySettled: async () => {
      // The migration writes the one row there is.
      const settled = {
        singleton: true,
        through: at('2030-01-07T00:00:00.654Z'),
        throughSeq: 9_007_199_254_740_003n,
      };
      await database.publicExpirySettled.update({ where: { singleton: true }, data: settled });
      return {
        written: settled,
        read: await database.publicExpirySettled.findUniqueOrThrow({ where: { singleton: true } }),
      };
    },
    ArchivePosition: async () => {
      const position = {
        userId: 'alice',
        categoryName: 'billing',
        priority: 'URGENT' as const,
        seq: 9_007_199_254_740_993n,
        archivedAt: at('2030-01-05T00:00:00.666Z'),
      };
      await database.archivePosition.create({ data: position });
      return {
        written: position,
        read: await database.archivePosition.findUniqueOrThrow({
          where: {
            userId_categoryName_priority: {
              userId: 'alice',
              categoryName: 'billing',
              priority: 'URGENT',
            },
          },
        }),
      };
    },
    Event: async () => {
      const event = {
        id: 9_007_199_254_740_995n,
        stream: 'user:alice',
        seq: 9_007_199_254_740_997n,
        type: 'DELETED' as const,
        notificationId: notification.id,
        tombstone: { id: notification.id, title: notification.title },
        state: { before: { seenAt: null }, after: { seenAt: '2030-01-04T00:00:00.999Z' } },
        createdAt: at('2030-01-04T00:00:00.999Z'),
      };
      await database.event.create({ data: event });
      return {
        written: event,
        read: await database.event.findUniqueOrThrow({
          where: { id_createdAt: { id: event.id, createdAt: event.createdAt } },
        }),
      };
    },
    EventLogPrune: async () => {
      const prune = { partition: 'Event_p20300104', throughStream: 'user:alice' };
      await database.eventLogPrune.create({ data: prune });
      return {
        written: prune,
        read: await database.eventLogPrune.findUniqueOrThrow({
          where: { partition: prune.partition },
        }),
      };
    },
    Webhook: async () => {
      await database.webhook.upsert({ where: { id: webhook.id }, create: webhook, update: {} });
      return {
        written: webhook,
        read: await database.webhook.findUniqueOrThrow({ where: { id: webhook.id } }),
      };
    },
    WebhookDelivery: async () => {
      await database.webhook.upsert({ where: { id: webhook.id }, create: webhook, update: {} });
      const delivery = {
        id: '5d0c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
        webhookId: webhook.id,
        event: 'UNACKNOWLEDGED' as const,
        notificationId: notification.id,
        userId: 'alice',
        data: { notificationId: notification.id, userId: 'alice', category: 'billing' },
        status: 'FAILED' as const,
        attempts: 17,
        nextAttemptAt: at('2030-01-08T00:00:00.111Z'),
        lastError: 'HTTP 503',
        createdAt: at('2030-01-07T00:00:00.222Z'),
        finishedAt: at('2030-01-08T00:00:00.333Z'),
      };
      await database.webhookDelivery.create({ data: delivery });
      return {
        written: delivery,
        read: await database.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } }),
      };
    },
    WebhookEscalation: async () => {
      await ensureNotification();
      const escalation = {
        notificationId: notification.id,
        escalateAt: at('2030-01-02T03:19:05.001Z'),
        throughUserId: 'bob',
      };
      await database.webhookEscalation.create({ data: escalation });
      return {
        written: escalation,
        read: await database.webhookEscalation.findUniqueOrThrow({
          where: { notificationId: notification.id },
        }),
      };
    },
    Stream: async () => {
      const stream = {
        id: 'user:alice',
        seq: 9_007_199_254_740_999n,
        prunedThrough: 9_007_199_254_740_000n,
      };
      await database.stream.create({ data: stream });
      return {
        written: stream,
        read: await database.stream.findUniqueOrThrow({ where: { id: stream.id } }),
      };
    },
    Instance: async () => {
      await ensureInstance();
      return {
        written: instance,
        read: await database.instance.findUniqueOrThrow({ where: { id: instance.id } }),
      };
    },
    Connection: async () => {
      await ensureInstance();
      const connection = {
        id: 'c7e2b1a0-9d8c-4b7a-8e6f-5d4c3b2a1f0e',
        userId: 'alice',
        sessionId: 'session-1',
        instanceId: instance.id,
        connectedAt: at('2030-01-02T00:00:05.789Z'),
      };
      await database.connection.create({ data: connection });
      return {
        written: connection,
        read: await database.connection.findUniqueOrThrow({ where: { id: connection.id } }),
      };
    },
    ApiKey: async () => {
      const apiKey = {
        id: '3f2e1d0c-b9a8-4765-8432-10fedcba9876',
        name: 'billing',
        hash: 'a'.repeat(64),
        createdAt: at('2030-03-01T00:00:00.000Z'),
        revokedAt: at('2030-03-02T00:00:00.500Z'),
      };
      await database.apiKey.create({ data: apiKey });
      return {
        written: apiKey,
        read: await database.apiKey.findUniqueOrThrow({ where: { hash: apiKey.hash } }),
      };
    },
    ScheduledSend: async () => {
      await ensureCategory();
      const scheduled = {
        id: '7b0e3c6a-54c1-4f7e-9f39-2d4d1c0e9a11',
        sender: 'billing',
        sendAt: at('2030-05-01T08:00:00.125Z'),
        categoryName: category.name,
        send: { title: 'Later', recipients: ['alice'] },
        streamCount: 1,
        createdAt: at('2030-04-30T08:00:00.500Z'),
      };
      await database.scheduledSend.create({ data: scheduled });
      return {
        written: scheduled,
        read: await database.scheduledSend.findUniqueOrThrow({ where: { id: scheduled.id } }),
      };
    },
    IdempotencyKey: async () => {
      const idempotencyKey = {
        service: 'billing',
        key: 'send-42',
        result: { id: notification.id, recipients: ['alice', 'bob'], count: 2 },
        createdAt: at('2030-04-01T12:00:00.250Z'),
      };
      await database.idempotencyKey.create({ data: idempotencyKey });
      return {
        written: idempotencyKey,
        read: await database.idempotencyKey.findUniqueOrThrow({
          where: { service_key: { service: 'billing', key: 'send-42' } },
        }),
      };
    },
    Topic: async () => {
      const topic = {
        name: 'release-notes',
        memberCount: 2,
        createdAt: at('2030-05-01T00:00:00.5Z'),
      };
      await database.topic.upsert({ where: { name: topic.name }, create: topic, update: {} });
      return {
        written: topic,
        read: await database.topic.findUniqueOrThrow({ where: { name: topic.name } }),
      };
    },
    TopicMember: async () => {
      await database.topic.upsert({
        where: { name: 'release-notes' },
        create: { name: 'release-notes', memberCount: 1 },
        update: {},
      });
      const member = {
        topic: 'release-notes',
        userId: 'user-42',
        joinedAt: at('2030-05-02T00:00:00.125Z'),
      };
      await database.topicMember.create({ data: member });
      return {
        written: member,
        read: await database.topicMember.findUniqueOrThrow({
          where: { topic_userId: { topic: 'release-notes', userId: 'user-42' } },
        }),
      };
    },
  };

  it('has a round-trip case for every model of the generated client', () => {
    expect(Object.keys(roundTrips).sort()).toEqual(Object.values(Prisma.ModelName).sort());
  });

  it.each(Object.entries(roundTrips))(
    'reads back a %s row with every field set exactly as written',
    async (_model, roundTrip) => {
      const { written, read } = await roundTrip();
      expect(read).toEqual(written);
    },
  );
});
