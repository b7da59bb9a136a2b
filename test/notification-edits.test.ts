import { describe, expect, it } from 'vitest';
import {
  InboxDocument,
  RecallNotificationDocument,
  UpdateNotificationDocument,
} from '../client/graphql.js';
import { CarriedNotifications } from '../src/realtime/carried-notifications.js';
import { pairForTests } from './helpers/cluster.js';
import { ADMIN, SERVICE, ok, run, send } from './helpers/operations.js';
import { TEST_API_KEY, type TestServer } from './helpers/server.js';
import { snapshotTables } from './helpers/snapshot.js';
import { Stream } from './helpers/stream.js';
import { sleep } from './helpers/wait.js';

// A service changes (updateNotification) or takes back (recallNotification) what it sent. Two
// instances on one PostgreSQL and one Redis; each recipient follows with devices on both,
// written as users write subscriptions. Every device gets UPDATED (with the new content) or
// DELETED once; a device that was away resumes with exactly what it missed; an update moves no
// count and a recall drops it; anyone but the sender (or an admin) finds nothing to change.

const OTHER_KEY = 'other-service-key-0123456789';
const OTHER = { apiKey: OTHER_KEY };

const pair = pairForTests({
  env: { SERVICE_API_KEYS: `${TEST_API_KEY},${OTHER_KEY}` },
  categories: [
    { name: 'news' },
    { name: 'likes', batchWindowSeconds: 2 },
    { name: 'flash', expireAfterSeconds: 1 },
  ],
});

interface Event {
  type: string;
  cursor?: string;
  unseenCount: number;
  notification: { id: string; title: string; body: string | null; editedAt: string | null };
  notifications?: { id: string; title: string }[];
}

const FIELDS = `type cursor unseenCount
  notification { id title body editedAt }
  notifications { id title }`;

/** A device: a socket of its own following one subscription; `events` reads what arrived. */
interface Device {
  stream: Stream<Record<string, Event>>;
  key: string;
  events(): Event[];
  types(): string[];
  close(): void;
}

async function device(
  server: TestServer,
  userId: string,
  query: string,
  variables: Record<string, unknown>,
  key: string,
): Promise<Device> {
  const socket = server.wsClient({ authorization: `Bearer ${await server.token(userId)}` });
  const stream = new Stream<Record<string, Event>>(socket, query, variables, {
    onClose: () => void socket.dispose(),
  });
  const events = () => stream.results.map((result) => result.data![key]!);
  return {
    stream,
    key,
    events,
    types: () => events().map((event) => event.type),
    close: () => stream.close(),
  };
}

const cursorOf = async (server: TestServer, userId: string) =>
  (await ok(server, InboxDocument, {}, userId)).eventCursor;

/** A phone: an inline literal `after`, on instance A. */
async function phone(userId: string, after?: string) {
  const cursor = after ?? (await cursorOf(pair.a, userId));
  return device(
    pair.a,
    userId,
    `subscription { myNotifications(after: ${JSON.stringify(cursor)}) { ${FIELDS} } }`,
    {},
    'myNotifications',
  );
}

/** A laptop: an alias and a variable not named $after, on instance B. */
async function laptop(userId: string, after?: string) {
  const cursor = after ?? (await cursorOf(pair.b, userId));
  return device(
    pair.b,
    userId,
    `subscription Follow($from: String) { inbox: myNotifications(after: $from) { ${FIELDS} } }`,
    { from: cursor },
    'inbox',
  );
}

async function waitForTypes(dev: Device, types: string[], timeoutMs = 5000) {
  await dev.stream.waitFor(
    () => dev.events().length >= types.length,
    timeoutMs,
    `${types.join(', ')} on ${dev.key}`,
  );
  expect(dev.types()).toEqual(types);
}

/** The user's count, list and what their devices last said all agree. */
async function expectCountsAgree(userId: string, devices: Device[], expected: number) {
  for (const server of [pair.a, pair.b]) {
    const inbox = await ok(server, InboxDocument, { limit: 100 }, userId);
    expect(inbox.unseenCount).toBe(inbox.unseenNotifications.length);
    expect(inbox.unseenCount).toBe(expected);
  }
  for (const dev of devices) expect(dev.events().at(-1)!.unseenCount).toBe(expected);
}

const update = (
  id: string,
  input: Record<string, unknown>,
  server: TestServer = pair.b,
  auth: Parameters<typeof run>[3] = SERVICE,
) => run(server, UpdateNotificationDocument, { id, input }, auth);
const recall = (
  id: string,
  server: TestServer = pair.b,
  auth: Parameters<typeof run>[3] = SERVICE,
) => run(server, RecallNotificationDocument, { id }, auth);

/** Nothing else arrives for a moment: no event twice. */
const settle = () => sleep(400);

describe('a private notification', () => {
  it('is updated on every device of every recipient, across instances, once, with no count moved', async () => {
    const [ann1, ann2, ben] = [await phone('ann'), await laptop('ann'), await laptop('ben')];
    const sent = await send(pair.a, {
      category: 'news',
      recipientIds: ['ann', 'ben'],
      title: 'Draft',
      body: 'first words',
    });
    const id = sent.notification.id;
    for (const dev of [ann1, ann2, ben]) await waitForTypes(dev, ['CREATED']);
    await expectCountsAgree('ann', [ann1, ann2], 1);

    const updated = await update(id, { title: 'Final', body: null, data: { v: 2 } });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateNotification).toMatchObject({
      id,
      title: 'Final',
      body: null,
      data: { v: 2 },
      editedAt: expect.any(String),
    });
    for (const dev of [ann1, ann2, ben]) {
      await waitForTypes(dev, ['CREATED', 'UPDATED']);
      expect(dev.events()[1]!.notification).toMatchObject({ id, title: 'Final', body: null });
      expect(dev.events()[1]!.notification.editedAt).toEqual(expect.any(String));
    }
    await settle();
    for (const dev of [ann1, ann2, ben]) expect(dev.types()).toEqual(['CREATED', 'UPDATED']);
    await expectCountsAgree('ann', [ann1, ann2], 1);
    await expectCountsAgree('ben', [ben], 1);
    const listed = await ok(pair.a, InboxDocument, {}, 'ann');
    expect(listed.unseenNotifications.map((n) => [n.id, n.title, n.body, n.data])).toEqual([
      [id, 'Final', null, { v: 2 }],
    ]);

    const recalled = await recall(id, pair.a);
    expect(recalled).toMatchObject({ data: { recallNotification: id } });
    for (const dev of [ann1, ann2, ben]) {
      await waitForTypes(dev, ['CREATED', 'UPDATED', 'DELETED']);
      expect(dev.events()[2]!.notification.id).toBe(id);
    }
    await settle();
    for (const dev of [ann1, ann2, ben]) expect(dev.types()).toHaveLength(3);
    await expectCountsAgree('ann', [ann1, ann2], 0);
    await expectCountsAgree('ben', [ben], 0);
    expect(
      await pair.instances[0]!.app.services.database.notification.count({ where: { id } }),
    ).toBe(0);
    for (const dev of [ann1, ann2, ben]) dev.close();
  });

  it('reaches a device that was away, from its cursor, with exactly what it missed', async () => {
    const before = await cursorOf(pair.a, 'cora');
    const early = await phone('cora', before);
    const kept = await send(pair.a, { category: 'news', recipientIds: ['cora'], title: 'Kept v1' });
    const doomed = await send(pair.a, {
      category: 'news',
      recipientIds: ['cora'],
      title: 'Doomed',
    });
    await waitForTypes(early, ['CREATED', 'CREATED']);
    const away = early.events()[1]!.cursor!;
    early.close();

    expect((await update(kept.notification.id, { title: 'Kept v2' })).errors).toBeUndefined();
    expect((await recall(doomed.notification.id)).errors).toBeUndefined();

    // Resumed where it left off: only what it lacks.
    const back = await laptop('cora', away);
    await waitForTypes(back, ['UPDATED', 'DELETED']);
    expect(back.events()[0]!.notification).toMatchObject({
      id: kept.notification.id,
      title: 'Kept v2',
    });
    expect(back.events()[1]!.notification.id).toBe(doomed.notification.id);
    // From an older cursor: CREATED then UPDATED (the current content), then the recall.
    const fresh = await phone('cora', before);
    await waitForTypes(fresh, ['CREATED', 'UPDATED', 'DELETED']);
    expect(fresh.events()[0]!.notification).toMatchObject({ title: 'Kept v2' });
    expect(fresh.events()[1]!.notification).toMatchObject({ title: 'Kept v2' });
    await settle();
    expect(back.types()).toEqual(['UPDATED', 'DELETED']);
    expect(fresh.types()).toEqual(['CREATED', 'UPDATED', 'DELETED']);
    await expectCountsAgree('cora', [back, fresh], 1);
    back.close();
    fresh.close();
  });
});

describe('a public notification', () => {
  it('is updated and recalled on the public stream for every user, counts moving only on recall', async () => {
    // publicNotifications has no cursor: it listens once a public send reaches it.
    const socket = pair.b.wsClient({ authorization: `Bearer ${await pair.b.token('eve')}` });
    const watcher = new Stream<Record<string, Event>>(
      socket,
      `subscription { everyone: publicNotifications { type unseenCount notification { id title } } }`,
    );
    const probes = new Set<string>();
    while (watcher.results.length === 0) {
      probes.add(
        (await send(pair.a, { category: 'news', public: true, title: 'probe' })).notification.id,
      );
      await watcher.waitFor(() => watcher.results.length > 0, 250, 'a probe').catch(() => {});
    }
    const [dan, eve] = [await phone('dan'), await laptop('eve')];
    const base = {
      dan: (await ok(pair.a, InboxDocument, {}, 'dan')).unseenCount,
      eve: (await ok(pair.a, InboxDocument, {}, 'eve')).unseenCount,
    };

    const sent = await send(pair.a, {
      category: 'news',
      public: true,
      title: 'Maintenance at 22:00',
    });
    const id = sent.notification.id;
    for (const dev of [dan, eve]) await waitForTypes(dev, ['CREATED']);
    expect((await update(id, { title: 'Maintenance at 23:00' })).errors).toBeUndefined();
    for (const dev of [dan, eve]) {
      await waitForTypes(dev, ['CREATED', 'UPDATED']);
      expect(dev.events()[1]!.notification).toMatchObject({ id, title: 'Maintenance at 23:00' });
    }
    await expectCountsAgree('dan', [dan], base.dan + 1);
    await expectCountsAgree('eve', [eve], base.eve + 1);

    expect((await recall(id, pair.a)).errors).toBeUndefined();
    for (const dev of [dan, eve]) await waitForTypes(dev, ['CREATED', 'UPDATED', 'DELETED']);
    await settle();
    await expectCountsAgree('dan', [dan], base.dan);
    await expectCountsAgree('eve', [eve], base.eve);
    const seen = watcher.results
      .map((result) => result.data!.everyone!)
      .filter((event) => !probes.has(event.notification.id))
      .map((event) => [event.type, event.notification.title]);
    expect(seen).toEqual([
      ['CREATED', 'Maintenance at 22:00'],
      ['UPDATED', 'Maintenance at 23:00'],
      ['DELETED', ''],
    ]);
    for (const dev of [dan, eve]) dev.close();
    watcher.close();
  });
});

describe('a batched notification (a digest)', () => {
  it('changed while its digest waits is delivered once, in the digest, with the new content', async () => {
    const start = await cursorOf(pair.a, 'fay');
    const base = (await ok(pair.a, InboxDocument, {}, 'fay')).unseenCount;
    const [fay1, fay2] = [await phone('fay', start), await laptop('fay', start)];
    const first = await send(pair.a, {
      category: 'likes',
      recipientIds: ['fay'],
      title: 'Ann liked',
    });
    const second = await send(pair.a, {
      category: 'likes',
      recipientIds: ['fay'],
      title: 'Ben liked',
    });
    expect((await update(first.notification.id, { title: 'Ann and Cy liked' })).errors).toBe(
      undefined,
    );
    for (const dev of [fay1, fay2]) {
      await waitForTypes(dev, ['DIGEST'], 6000);
      expect(dev.events()[0]!.notifications!.map((n) => n.title)).toEqual([
        'Ann and Cy liked',
        'Ben liked',
      ]);
    }
    await expectCountsAgree('fay', [fay1, fay2], base + 2);

    // Once delivered, a change is an UPDATED of its own, a recall a DELETED.
    expect((await update(second.notification.id, { title: 'Ben and Di liked' })).errors).toBe(
      undefined,
    );
    expect((await recall(first.notification.id)).errors).toBeUndefined();
    for (const dev of [fay1, fay2]) {
      await waitForTypes(dev, ['DIGEST', 'UPDATED', 'DELETED']);
      expect(dev.events()[1]!.notification.title).toBe('Ben and Di liked');
    }
    await settle();
    for (const dev of [fay1, fay2]) expect(dev.types()).toHaveLength(3);
    await expectCountsAgree('fay', [fay1, fay2], base + 1);

    // A device resuming from before the digest gets one digest with today's content (and the
    // recall's DELETED, as for any notification deleted since the cursor: the log keeps only that).
    const resumed = await laptop('fay', start);
    await waitForTypes(resumed, ['DELETED', 'DIGEST'], 6000);
    await settle();
    expect(resumed.types()).toEqual(['DELETED', 'DIGEST']);
    expect(resumed.events()[0]!.notification.id).toBe(first.notification.id);
    expect(resumed.events()[1]!.notifications!.map((n) => n.title)).toEqual(['Ben and Di liked']);
    expect(resumed.events()[1]!.unseenCount).toBe(base + 1);
    for (const dev of [fay1, fay2, resumed]) dev.close();
  });
});

describe('who may change it', () => {
  it('answers NOT_FOUND to another service, changing nothing, and lets the sender and admins', async () => {
    const sent = await send(pair.a, { category: 'news', recipientIds: ['gus'], title: 'Yours' });
    const id = sent.notification.id;
    const before = await snapshotTables(pair.database.url);
    for (const result of [
      await update(id, { title: 'Mine now' }, pair.a, OTHER),
      await recall(id, pair.b, OTHER),
    ]) {
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(JSON.stringify(result)).not.toContain('Yours');
    }
    expect(await snapshotTables(pair.database.url)).toEqual(before);
    // Users who are not admins are refused as for other service operations.
    const byUser = await update(id, { title: 'x' }, pair.a, 'gus');
    expect(byUser.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);

    const byAdmin = await update(id, { title: 'Fixed by support' }, pair.a, ADMIN);
    expect(byAdmin.data?.updateNotification.title).toBe('Fixed by support');
    expect((await recall(id, pair.a, ADMIN)).data?.recallNotification).toBe(id);
  });

  it('answers NOT_FOUND for a recalled notification and for ids that name none', async () => {
    const sent = await send(pair.a, {
      category: 'news',
      recipientIds: ['hal'],
      title: 'Gone soon',
    });
    const id = sent.notification.id;
    expect((await recall(id)).data?.recallNotification).toBe(id);
    for (const result of [
      await update(id, { title: 'Too late' }),
      await recall(id),
      await update('not-an-id', { title: 'x' }),
      await recall('00000000-0000-4000-8000-000000000000'),
    ]) {
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    }
  });

  it('refuses to update an expired notification (NOTIFICATION_EXPIRED), changing nothing; it can still be recalled', async () => {
    const sent = await send(pair.a, { category: 'flash', recipientIds: ['ida'], title: 'Brief' });
    const id = sent.notification.id;
    await sleep(1100);
    const before = await snapshotTables(pair.database.url);
    const result = await update(id, { title: 'Later' });
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['NOTIFICATION_EXPIRED']);
    expect(await snapshotTables(pair.database.url)).toEqual(before);
    expect((await recall(id)).data?.recallNotification).toBe(id);
  });
});

describe('bad input', () => {
  const tooLong = (n: number) => 'x'.repeat(n + 1);
  it.each([
    ['no field at all', {}],
    ['an empty title', { title: '  ' }],
    ['a title removed', { title: null }],
    ['a title over 200 characters', { title: tooLong(200) }],
    ['a body over 5000 characters', { body: tooLong(5000) }],
    ['data over 16 KB', { data: { blob: tooLong(16 * 1024) } }],
    ['a javascript: icon', { icon: 'javascript:alert(1)' }],
    ['an actionUrl that is no link', { actionUrl: 'not a link' }],
  ])('refuses %s with BAD_USER_INPUT, changing nothing', async (_name, input) => {
    const sent = await send(pair.a, { category: 'news', recipientIds: ['jo'], title: 'Fine' });
    const before = await snapshotTables(pair.database.url);
    const result = await update(sent.notification.id, input);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await snapshotTables(pair.database.url)).toEqual(before);
  });

  it('refuses bad input with BAD_USER_INPUT before telling whether the notification exists', async () => {
    const sent = await send(pair.a, { category: 'news', recipientIds: ['jo'], title: 'Fine' });
    const result = await update(sent.notification.id, { icon: 'ftp://x' }, pair.a, OTHER);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('an update named by id on the bus', () => {
  it('is read from the database, not taken from content an earlier message carried', async () => {
    const sent = await send(pair.a, { category: 'news', recipientIds: ['kim'], title: 'Old' });
    const database = pair.a.app.services.database;
    const old = await database.notification.findUniqueOrThrow({
      where: { id: sent.notification.id },
    });
    const carried = new CarriedNotifications(database);
    const entry = (type: 'CREATED' | 'UPDATED', seq: bigint) => ({
      id: seq,
      stream: 'user:kim',
      seq,
      type,
      notification: 0,
      receipt: null,
      before: null,
    });
    await carried.events({
      origin: 'x',
      notifications: [{ record: old }],
      events: [entry('CREATED', 1n)],
    });
    expect((await update(old.id, { title: 'New' })).errors).toBeUndefined();
    const [event] = await carried.events({
      origin: 'x',
      notifications: [{ id: old.id }],
      events: [entry('UPDATED', 2n)],
    });
    expect(event!.notification.title).toBe('New');
  });
});
