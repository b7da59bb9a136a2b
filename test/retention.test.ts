import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, MarkSeenDocument, MyNotificationsDocument } from '../client/graphql.js';
import { ok, send, subscribe, upsertCategory, userSocket } from './helpers/operations.js';
import { createTestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// Step 6 of the process: the scheduled job deletes due notifications with every related row,
// and tells the users who are online.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { RETENTION_INTERVAL_SECONDS: '1' } });
  await upsertCategory(server, { name: 'flash' });
});
afterAll(() => server.stop());

const database = () => server.app.services.database;

describe('the retention job', () => {
  it('deletes due notifications with their receipts and events, and sends DELETED', async () => {
    const { eventCursor } = await ok(server, InboxDocument, {}, 'rita');
    const stream = subscribe(await userSocket(server, 'rita'), MyNotificationsDocument, {
      after: eventCursor,
    });
    // Far enough ahead for the sends and markSeen below on a loaded machine; due soon after.
    const deleteAt = new Date(Date.now() + 4000).toISOString();
    const doomedPrivate = await send(server, {
      category: 'flash',
      recipientIds: ['rita', 'sam'],
      title: 'secret content',
      deleteAt,
    });
    const doomedPublic = await send(server, {
      category: 'flash',
      public: true,
      title: 'x',
      deleteAt,
    });
    const kept = await send(server, { category: 'flash', recipientIds: ['rita'], title: 'kept' });
    await ok(server, MarkSeenDocument, { ids: [doomedPublic.notification.id] }, 'rita');
    const doomedIds = [doomedPrivate.notification.id, doomedPublic.notification.id];

    const events = await stream.waitForCount(6, 20_000);
    const deleted = events.slice(4).map((e) => e.data!.myNotifications);
    expect(deleted.map((e) => e.type)).toEqual(['DELETED', 'DELETED']);
    expect(deleted.map((e) => e.notification.id).sort()).toEqual([...doomedIds].sort());
    // What remains in the log says which notification went, not what it said.
    expect(deleted.every((e) => e.notification.title === '' && e.notification.body === null)).toBe(
      true,
    );

    expect(await database().notification.count({ where: { id: { in: doomedIds } } })).toBe(0);
    expect(await database().receipt.count({ where: { notificationId: { in: doomedIds } } })).toBe(
      0,
    );
    expect(
      await database().event.count({
        where: { notificationId: { in: doomedIds }, type: { not: 'DELETED' } },
      }),
    ).toBe(0);
    expect(await database().notification.count({ where: { id: kept.notification.id } })).toBe(1);
    const inbox = await ok(server, InboxDocument, {}, 'rita');
    expect(inbox.unseenNotifications.map((n) => n.id)).toEqual([kept.notification.id]);
    expect(deleted.at(-1)!.unseenCount).toBe(1);
  });

  it('is one Agenda job, rescheduled every interval', async () => {
    const rows = await query<{ name: string; repeat_interval: string }>(
      server.databaseUrl,
      'SELECT name, repeat_interval FROM agenda_jobs',
    );
    expect(rows).toEqual([{ name: 'delete-due-notifications', repeat_interval: '1 seconds' }]);
  });
});

describe('a changed RETENTION_INTERVAL_SECONDS', () => {
  it('applies at the next start, not after the old interval', async () => {
    const database = await createTestDatabase();
    const started: TestServer[] = [];
    const start = async (interval: string, onLog: (line: Record<string, unknown>) => void) => {
      const instance = await startTestServer({
        database,
        env: { LOG_LEVEL: 'info', RETENTION_INTERVAL_SECONDS: interval },
        onLog,
      });
      started.push(instance);
      return instance;
    };
    const ran = (lines: Record<string, unknown>[]) =>
      lines.filter((line) => line.msg === 'retention ran').length;
    try {
      // The first start runs at once and schedules the next run an hour away.
      const hourly: Record<string, unknown>[] = [];
      const first = await start('3600', (line) => hourly.push(line));
      expect(
        await until(
          () => ran(hourly),
          (n) => n > 0,
          10_000,
        ),
        'waited for the first run',
      ).toBe(1);
      await first.stop();

      const everySecond: Record<string, unknown>[] = [];
      await start('1', (line) => everySecond.push(line));
      expect(
        await until(
          () => ran(everySecond),
          (n) => n > 0,
          5000,
        ),
        'waited for a run within seconds of a start with a 1 s interval',
      ).toBeGreaterThan(0);
    } finally {
      for (const instance of started) await instance.stop();
      await database.drop();
    }
  }, 30_000);
});
