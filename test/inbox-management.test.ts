import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ArchiveAllDocument,
  ArchiveDocument,
  FilteredHistoryDocument,
  FilteredUnseenDocument,
  MarkUnseenDocument,
  OpenInboxDocument,
  SnoozeDocument,
  UnarchiveDocument,
  type SendNotificationInput,
} from '../client/graphql.js';
import { errorCode, ok, run, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';

// Dismiss, clear all, mark unseen and snooze, as requests: what each does to the lists and
// counts, on private, public and batched notifications; what each refuses, changing nothing.

let server: TestServer;
const database = () => server.app.services.database;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'alerts', priority: 'HIGH' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  await upsertCategory(server, { name: 'likes', batchWindowSeconds: 1 });
});
afterAll(() => server.stop());

beforeEach(async () => {
  await database()
    .$executeRaw`TRUNCATE "Notification", "Receipt", "Event", "Stream", "InboxState", "ArchivePosition",
      "PublicTally", "PublicExpiry" CASCADE`;
});

async function sendTo(recipients: string[] | 'public', category: string, title = category) {
  const audience: Partial<SendNotificationInput> =
    recipients === 'public' ? { public: true } : { recipientIds: recipients };
  return (await send(server, { category, title, ...audience })).notification.id;
}

/** The user's inbox: its unseen ids, newest first, after checking the count is the list's. */
async function unseen(userId: string, filter = {}) {
  const result = await ok(server, FilteredUnseenDocument, { filter }, userId);
  expect(result.unseenCount).toBe(result.unseenNotifications.length);
  return result.unseenNotifications.map((n) => n.id);
}

async function history(userId: string, status: string) {
  const filter = { status } as never;
  const result = await ok(server, FilteredHistoryDocument, { filter, first: 100 }, userId);
  return result.notifications.nodes.map((n) => n.id);
}

describe('archive and unarchive', () => {
  it('takes private, public and batched ones out of the unseen list and count, into ARCHIVED, and back', async () => {
    const ids = [
      await sendTo(['ann'], 'info'),
      await sendTo('public', 'info'),
      await sendTo(['ann'], 'likes'),
    ];
    expect(await unseen('ann')).toEqual(ids.toReversed());

    const archived = await ok(server, ArchiveDocument, { ids }, 'ann');
    expect(archived.archive.every((n) => n.archivedAt !== null)).toBe(true);
    expect(await unseen('ann')).toEqual([]);
    expect(await history('ann', 'ARCHIVED')).toEqual(ids.toReversed());
    expect(await history('ann', 'UNSEEN')).toEqual([]);
    expect(await history('ann', 'ALL')).toEqual(ids.toReversed());
    // The public one is archived for Ann alone.
    expect(await unseen('ben')).toEqual([ids[1]]);

    await ok(server, UnarchiveDocument, { ids: [ids[1]!] }, 'ann');
    expect(await unseen('ann')).toEqual([ids[1]]);
  });

  it('refuses a require-ack one not yet acknowledged with ACKNOWLEDGEMENT_REQUIRED, changing nothing', async () => {
    const plain = await sendTo(['ann'], 'info');
    const terms = await sendTo(['ann'], 'terms');
    const before = await snapshotTables(server.databaseUrl);
    expect(await errorCode(server, ArchiveDocument, { ids: [plain, terms] }, 'ann')).toBe(
      'ACKNOWLEDGEMENT_REQUIRED',
    );
    expect(await snapshotTables(server.databaseUrl)).toEqual(before);
    expect(await unseen('ann')).toEqual([terms, plain]);
  });

  it.each([
    ['archive', ArchiveDocument, (id: string) => ({ ids: [id] })],
    ['unarchive', UnarchiveDocument, (id: string) => ({ ids: [id] })],
    ['markUnseen', MarkUnseenDocument, (id: string) => ({ ids: [id] })],
    ['snooze', SnoozeDocument, (id: string) => ({ id, until: inAnHour() })],
  ] as const)(
    "%s refuses another user's notification with NOT_FOUND and changes nothing",
    async (_name, document, variables) => {
      const bens = await sendTo(['ben'], 'info', 'Ben: salary review');
      const before = await snapshotTables(server.databaseUrl);
      const result = await run(server, document as never, variables(bens) as never, 'ann');
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(JSON.stringify(result)).not.toMatch(/salary/);
      expect(await snapshotTables(server.databaseUrl)).toEqual(before);
    },
  );
});

describe('markUnseen', () => {
  it('brings a seen private or public one back into the list and the count', async () => {
    const mine = await sendTo(['ann'], 'info');
    const everyone = await sendTo('public', 'info');
    await server.request('mutation { markAllSeen }', {}, 'ann');
    expect(await unseen('ann')).toEqual([]);
    const back = await ok(server, MarkUnseenDocument, { ids: [everyone, mine] }, 'ann');
    expect(back.markUnseen.map((n) => n.seenAt)).toEqual([null, null]);
    expect(await unseen('ann')).toEqual([everyone, mine]);
  });
});

describe('snooze', () => {
  it('hides one until its time, then it is back, counted again', async () => {
    const later = await sendTo('public', 'info');
    const until = new Date(Date.now() + 1500).toISOString();
    const snoozed = await ok(server, SnoozeDocument, { id: later, until }, 'ann');
    expect(snoozed.snooze.snoozedUntil).toBe(until);
    expect(await unseen('ann')).toEqual([]);
    expect(await history('ann', 'SNOOZED')).toEqual([later]);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(until) - Date.now() + 2000));
    expect(await unseen('ann')).toEqual([later]);
    expect(await database().event.count({ where: { type: 'UNSNOOZED' } })).toBe(1);
  });

  it.each([
    ['a time in the past', () => new Date(Date.now() - 1000).toISOString()],
    ['a time over a year ahead', () => new Date(Date.now() + 400 * 86_400_000).toISOString()],
  ])('refuses %s with BAD_USER_INPUT', async (_name, until) => {
    const mine = await sendTo(['ann'], 'info');
    expect(await errorCode(server, SnoozeDocument, { id: mine, until: until() }, 'ann')).toBe(
      'BAD_USER_INPUT',
    );
    expect(await unseen('ann')).toEqual([mine]);
  });
});

describe('archiveAll', () => {
  it('clears what the filter matches, skipping what awaits an acknowledgement', async () => {
    const info = await sendTo(['ann'], 'info');
    const alert = await sendTo('public', 'alerts');
    const terms = await sendTo(['ann'], 'terms');
    const cleared = await ok(
      server,
      ArchiveAllDocument,
      { filter: { categories: ['info'] } },
      'ann',
    );
    expect(cleared.archiveAll).toBe(1);
    expect(await unseen('ann')).toEqual([terms, alert]);
    expect((await ok(server, ArchiveAllDocument, {}, 'ann')).archiveAll).toBe(1);
    expect(await unseen('ann')).toEqual([terms]);
    expect(await history('ann', 'ARCHIVED')).toEqual([alert, info]);
    expect(
      await errorCode(server, ArchiveAllDocument, { filter: { status: 'UNSEEN' } }, 'ann'),
    ).toBe('BAD_USER_INPUT');
  });

  it('archives 20,000 public notifications with a position per category and priority, not a row each', async () => {
    await database().$executeRaw`
      INSERT INTO "Notification" ("categoryName", priority, "requireAck", public, title, sender,
        "deleteAt")
      SELECT 'info', 'NORMAL', false, true, 'backlog ' || g, 'seed', now() + interval '1 day'
      FROM generate_series(1, 20000) g`;
    const terms = await sendTo('public', 'terms');
    expect((await ok(server, OpenInboxDocument, {}, 'ann')).inbox.unseenCount).toBe(20_001);
    expect((await ok(server, ArchiveAllDocument, {}, 'ann')).archiveAll).toBe(20_000);
    expect(await database().receipt.count({ where: { userId: 'ann' } })).toBe(0);
    const categories = await database().category.count();
    expect(await database().archivePosition.count({ where: { userId: 'ann' } })).toBe(
      categories * 4,
    );
    expect(await unseen('ann')).toEqual([terms]);
    // Ben archived nothing: his count still has them all.
    expect((await ok(server, OpenInboxDocument, {}, 'ben')).inbox.unseenCount).toBe(20_001);
  });
});

describe('filters and the inbox', () => {
  it('narrow lists and counts by category, priority and status, and count per category', async () => {
    const info = await sendTo(['ann'], 'info');
    const alert = await sendTo(['ann'], 'alerts');
    const seen = await sendTo(['ann'], 'info', 'seen');
    await server.request(
      'mutation ($ids: [ID!]!) { markSeen(ids: $ids) { id } }',
      { ids: [seen] },
      'ann',
    );
    expect(await unseen('ann', { categories: ['info'] })).toEqual([info]);
    expect(await unseen('ann', { priorities: ['HIGH'] })).toEqual([alert]);
    expect(await unseen('ann', { status: 'ARCHIVED' })).toEqual([]);
    expect(await history('ann', 'SEEN')).toEqual([seen]);
    expect(await history('ann', 'UNSEEN')).toEqual([alert, info]);

    const { inbox } = await ok(
      server,
      OpenInboxDocument,
      { filter: { categories: ['info', 'alerts'] } },
      'ann',
    );
    expect(inbox.notifications.map((n) => n.id)).toEqual([alert, info]);
    expect(inbox.unseenCount).toBe(2);
    expect(inbox.counts).toEqual([
      { category: 'alerts', unseen: 1 },
      { category: 'info', unseen: 1 },
    ]);
    expect(inbox.cursor).toMatch(/^\d+\.\d+$/);
  });
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
