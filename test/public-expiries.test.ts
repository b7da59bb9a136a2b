import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_STREAM } from '../src/notifications/types.js';
import { PublicExpiries, expiriesPageSql } from '../src/realtime/public-expiries.js';
import { send, upsertCategory } from './helpers/operations.js';
import { nodesOf, type PlanNode } from './helpers/query-plan.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// The instance's list of expiring public notifications holds the next few, not all of them: it
// loads the upcoming ones a page at a time, through an index, again as they pass.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;
const head = async () =>
  (await database().stream.findUnique({ where: { id: PUBLIC_STREAM } }))?.seq ?? 0n;

describe('the list of expiring public notifications', () => {
  it('holds a page of the upcoming expiries, loads the next as time reaches them, and misses none', async () => {
    const soon = Date.now() + 60_000;
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const sent = await send(server, {
        category: 'info',
        public: true,
        title: `expires ${i}`,
        expiresAt: new Date(soon + i * 1000).toISOString(),
      });
      ids.push(sent.notification.id);
    }
    const list = new PublicExpiries(database(), { pageSize: 10 });
    await list.reach(await head());
    expect(list.size).toBeLessThanOrEqual(10);
    // The first few expire: one page read holds them.
    await list.cover(new Date(soon + 2000));
    expect(list.size).toBe(10);

    // Later sends taken in live stay within the window too.
    const later = await send(server, {
      category: 'info',
      public: true,
      title: 'far off',
      expiresAt: new Date(soon + 3_600_000).toISOString(),
    });
    await list.reach(await head());
    expect(list.size).toBeLessThanOrEqual(10);

    const farEnough = new Date(soon + 7_200_000);
    await list.cover(farEnough);
    expect(list.expiring(new Date(), farEnough).map((entry) => entry.id)).toEqual([
      ...ids,
      later.notification.id,
    ]);
  });

  it('reads a page through the partial index on expiresAt, not a scan of the notifications', async () => {
    await database().$executeRaw`
      INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender,
        "expiresAt", "deleteAt")
      SELECT 'info', 'NORMAL', false, g % 10 = 0, 'crowd', 'test',
        now() + g * interval '1 second', now() + interval '30 days'
      FROM generate_series(1, 100000) AS g`;
    await database().$executeRaw`ANALYZE "Notification"`;
    const [{ 'QUERY PLAN': plan }] = await database().$queryRaw<[{ 'QUERY PLAN': unknown }]>`
      EXPLAIN (FORMAT JSON) ${expiriesPageSql({ at: new Date(), id: '00000000-0000-0000-0000-000000000000' }, 1000)}`;
    const nodes = nodesOf((plan as [{ Plan: PlanNode }])[0].Plan);
    expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    expect(nodes.flatMap((node) => node['Index Name'] ?? [])).toContain(
      'Notification_publicExpiresAt_idx',
    );
  });
});
