import { describe, expect, it } from 'vitest';
import { pairForTests } from './helpers/cluster.js';
import { createTestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { CancelNotificationDocument, DeleteCategoryDocument } from '../client/graphql.js';
import { ADMIN, SERVICE, ok, run, upsertCategory, userSocket } from './helpers/operations.js';
import { TEST_API_KEY, startTestServer, type Auth, type TestServer } from './helpers/server.js';
import { Stream } from './helpers/stream.js';
import { sleep, until } from './helpers/wait.js';

// Scheduled sends (sendAt) and cancelNotification, on two instances sharing one PostgreSQL and
// one Redis, followed by real graphql-ws clients on both. A scheduled send is stored when it is
// answered and nobody sees it until its time; then it is delivered once, within a second, by
// whichever instance comes first, also after every instance was down in between. Its sender can
// cancel it until then; a cancel racing the delivery either cancels it or is told it was
// delivered, never both.

const OTHER_KEY = 'other-service-key-0123456789';
const OTHER: Auth = { apiKey: OTHER_KEY };
const KEYS = `${TEST_API_KEY},${OTHER_KEY}`;

const pair = pairForTests({
  env: { SERVICE_API_KEYS: KEYS },
  categories: [{ name: 'later', expireAfterSeconds: 3600, deleteAfterSeconds: 7200 }],
});

interface Payload {
  notification: { id: string; title: string; createdAt: string; expiresAt: string | null };
  scheduledFor: string | null;
  recipientCount: number;
  deduplicated: boolean;
}

// The variable is not named `input`, and the payload's fields are asked in another order.
const SCHEDULE = `mutation Later($what: SendNotificationInput!) {
  sendNotification(input: $what) {
    scheduledFor deduplicated recipientCount
    notification { expiresAt title id createdAt }
  }
}`;

async function schedule(server: TestServer, input: Record<string, unknown>, auth = SERVICE) {
  const result = await server.request<{ sendNotification: Payload }>(
    SCHEDULE,
    { what: { category: 'later', ...input } },
    auth,
  );
  if (result.errors || !result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.sendNotification;
}

const CANCEL = `mutation Stop($which: ID!) {
  cancelNotification(id: $which) { cancelled id scheduledFor }
}`;
async function cancel(server: TestServer, id: string, auth: Auth = SERVICE) {
  const result = await server.request<{
    cancelNotification: { id: string; cancelled: boolean; scheduledFor: string };
  }>(CANCEL, { which: id }, auth);
  return {
    data: result.data?.cancelNotification,
    error: result.errors?.[0] as { message: string; extensions?: { code?: string } } | undefined,
  };
}

const at = (ms: number) => new Date(Date.now() + ms).toISOString();

interface Event {
  type: string;
  cursor: string;
  notification: { id: string; title: string };
}

/** A device of `userId` on `server`: a socket of its own following myNotifications. */
async function device(server: TestServer, userId: string, after?: string) {
  const socket = await userSocket(server, userId);
  const cursor = after ?? (await eventCursor(server, userId));
  const stream = new Stream<{ feed: Event }>(
    socket,
    `subscription Follow($from: String) {
      feed: myNotifications(after: $from) { type cursor notification { id title } }
    }`,
    { from: cursor },
    { onClose: () => void socket.dispose() },
  );
  const received = (id: string) =>
    stream.results.filter(
      (result) => result.data?.feed.type === 'CREATED' && result.data.feed.notification.id === id,
    );
  return { stream, received };
}

async function eventCursor(server: TestServer, userId: string) {
  const result = await server.request<{ eventCursor: string }>('{ eventCursor }', {}, userId);
  return result.data!.eventCursor;
}

/** The user's unseen list, history and count of one category (public sends reach everyone). */
async function inbox(server: TestServer, userId: string, category = 'later') {
  const result = await server.request<{
    unseenNotifications: { id: string }[];
    unseenCount: number;
    notifications: { edges: { node: { id: string } }[] };
  }>(
    `query Box($only: NotificationFilter) { unseenCount(filter: $only)
       unseenNotifications(limit: 100, filter: $only) { id }
       notifications(first: 100, filter: $only) { edges { node { id } } } }`,
    { only: { categories: [category] } },
    userId,
  );
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  const data = result.data!;
  return {
    ids: data.unseenNotifications.map((n) => n.id),
    history: data.notifications.edges.map((edge) => edge.node.id),
    count: data.unseenCount,
  };
}

/** What the database holds of notification `id`: the row's createdAt, its events, its receipts. */
async function stored(id: string) {
  const [row] = await query<{ created: Date | null; events: string; receipts: string }>(
    pair.database.url,
    `SELECT (SELECT "createdAt" FROM "Notification" WHERE id = $1) AS created,
       (SELECT count(*) FROM "Event" WHERE "notificationId" = $1) AS events,
       (SELECT count(*) FROM "Receipt" WHERE "notificationId" = $1) AS receipts`,
    [id],
  );
  return { created: row!.created, events: Number(row!.events), receipts: Number(row!.receipts) };
}

async function sentTotal() {
  let total = 0;
  for (const server of [pair.a, pair.b]) {
    const text = await (await fetch(server.url.replace(/\/graphql$/, '/metrics'))).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('notifications_sent_total{') && line.includes('category="later"')) {
        total += Number(line.split(' ').pop());
      }
    }
  }
  return total;
}

describe('a scheduled private send', () => {
  it('is stored at once, seen by nobody before its time, then delivered once within a second on both instances', async () => {
    const user = 'sched-private';
    const [onA, onB] = [await device(pair.a, user), await device(pair.b, user)];
    const cursorBefore = await eventCursor(pair.a, user);
    const sentBefore = await sentTotal();
    const sendAt = at(2000);
    const answer = await schedule(pair.a, {
      recipientIds: [user],
      title: 'In two seconds',
      sendAt,
    });
    expect(answer).toMatchObject({ scheduledFor: sendAt, recipientCount: 1, deduplicated: false });
    expect(answer.notification.title).toBe('In two seconds');
    // Category expiry and deletion count from sendAt, not from the request.
    expect(Date.parse(answer.notification.expiresAt!)).toBe(Date.parse(sendAt) + 3600_000);
    const id = answer.notification.id;

    // Before its time: in no inbox, count, history, replay, support query or status.
    await sleep(500);
    expect(await inbox(pair.b, user)).toEqual({ ids: [], history: [], count: 0 });
    expect(await stored(id)).toEqual({ created: null, events: 0, receipts: 0 });
    const replay = await device(pair.b, user, cursorBefore);
    await sleep(300);
    for (const { stream } of [onA, onB, replay]) expect(stream.results).toEqual([]);
    const support = await pair.b.request(`{ notification(id: "${id}") { id } }`, {}, ADMIN);
    expect(support.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const status = await pair.a.request(
      'query S($n: ID!) { notificationStatus(id: $n) { seenCount } }',
      { n: id },
      SERVICE,
    );
    expect(status.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // Counted as sent when delivered, not when scheduled.
    expect(await sentTotal()).toBe(sentBefore);

    // Its time: each device gets it once, within a second of sendAt.
    const arrivals = await Promise.all(
      [onA, onB, replay].map(async ({ stream, received }) => {
        await stream.waitFor(() => received(id).length > 0, 5000, `the scheduled send ${id}`);
        return Date.now();
      }),
    );
    for (const arrival of arrivals) {
      expect(arrival).toBeGreaterThanOrEqual(Date.parse(sendAt));
      expect(arrival - Date.parse(sendAt)).toBeLessThan(1000);
    }
    await sleep(1500);
    for (const { received } of [onA, onB, replay]) expect(received(id)).toHaveLength(1);
    const row = await stored(id);
    expect(row).toMatchObject({ events: 1, receipts: 1 });
    expect(row.created!.getTime()).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(await inbox(pair.a, user)).toEqual({ ids: [id], history: [id], count: 1 });
    expect(await sentTotal()).toBe(sentBefore + 1);
    for (const { stream } of [onA, onB, replay]) stream.close();
  });

  it('is delivered exactly once by two instances: each of many due at one instant has one event and one receipt', async () => {
    const user = 'sched-many';
    const [onA, onB] = [await device(pair.a, user), await device(pair.b, user)];
    const sendAt = at(1500);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        schedule(i % 2 ? pair.a : pair.b, { recipientIds: [user], title: `many ${i}`, sendAt }),
      ),
    );
    const ids = answers.map((answer) => answer.notification.id);
    for (const { stream } of [onA, onB]) {
      await stream.waitFor(() => stream.results.length >= 40, 5000, '40 scheduled sends');
    }
    await sleep(1500);
    for (const { stream, received } of [onA, onB]) {
      expect(stream.results).toHaveLength(40);
      for (const id of ids) expect(received(id)).toHaveLength(1);
    }
    for (const id of ids) expect(await stored(id)).toMatchObject({ events: 1, receipts: 1 });
    const [{ left }] = (await query<{ left: string }>(
      pair.database.url,
      `SELECT count(*) AS left FROM "ScheduledSend"`,
    )) as [{ left: string }];
    expect(left).toBe('0');
    for (const { stream } of [onA, onB]) stream.close();
  });

  it('answers a repeated idempotencyKey with the scheduled one, stored once', async () => {
    const input = {
      recipientIds: ['sched-key'],
      title: 'once',
      sendAt: at(60_000),
      idempotencyKey: 'scheduled-key-1',
    };
    const first = await schedule(pair.a, input);
    const again = await schedule(pair.b, input);
    expect(again).toEqual({ ...first, deduplicated: true });
    const [{ rows }] = (await query<{ rows: string }>(
      pair.database.url,
      `SELECT count(*) AS rows FROM "ScheduledSend" WHERE id = $1`,
      [first.notification.id],
    )) as [{ rows: string }];
    expect(rows).toBe('1');
    expect((await cancel(pair.a, first.notification.id)).data?.cancelled).toBe(true);
  });

  it("reaches a topic's members at its delivery, not at its scheduling", async () => {
    const members = async (mutation: string, userIds: string[]) => {
      const result = await pair.a.request(
        `mutation M($t: String!, $ids: [ID!]!) { ${mutation}(topic: $t, userIds: $ids) { memberCount } }`,
        { t: 'release-notes', ids: userIds },
        SERVICE,
      );
      expect(result.errors).toBeUndefined();
    };
    await members('addTopicMembers', ['tm-early', 'tm-leaver']);
    const sendAt = at(1500);
    const { notification, recipientCount } = await schedule(pair.a, {
      topic: 'release-notes',
      title: 'v2 is out',
      sendAt,
    });
    // Members are those at the delivery: none counted yet.
    expect(recipientCount).toBe(0);
    await members('addTopicMembers', ['tm-late']);
    await members('removeTopicMembers', ['tm-leaver']);
    const late = await device(pair.b, 'tm-late');
    await late.stream.waitFor(() => late.received(notification.id).length === 1, 5000, 'the send');
    const reached = await query<{ userId: string }>(
      pair.database.url,
      `SELECT "userId" FROM "Receipt" WHERE "notificationId" = $1 ORDER BY "userId"`,
      [notification.id],
    );
    expect(reached.map((row) => row.userId)).toEqual(['tm-early', 'tm-late']);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(sendAt));
    late.stream.close();
  });

  it('sends at once when sendAt is now or past', async () => {
    const user = 'sched-past';
    const answer = await schedule(pair.a, {
      recipientIds: [user],
      title: 'overdue',
      sendAt: at(-60_000),
    });
    expect(answer.scheduledFor).toBeNull();
    expect(await inbox(pair.b, user)).toMatchObject({ ids: [answer.notification.id], count: 1 });
  });
});

describe('written inline', () => {
  it('schedules with a sendAt literal and cancels with a typed document', async () => {
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const result = await pair.b.request<{ sendNotification: Payload }>(
      `mutation {
        sendNotification(input: { title: "inline", sendAt: "${sendAt}", recipientIds: ["sched-inline"], category: "later" }) {
          notification { id } scheduledFor
        }
      }`,
      {},
      SERVICE,
    );
    const { notification, scheduledFor } = result.data!.sendNotification;
    expect(scheduledFor).toBe(sendAt);
    const cancelled = await ok(
      pair.a,
      CancelNotificationDocument,
      { id: notification.id },
      SERVICE,
    );
    expect(cancelled.cancelNotification).toEqual({
      id: notification.id,
      cancelled: true,
      scheduledFor,
    });
  });
});

describe('a category with a scheduled send waiting', () => {
  it('cannot be deleted (CATEGORY_IN_USE) until the send is cancelled', async () => {
    await upsertCategory(pair.a, { name: 'later-doomed' });
    const answer = await schedule(pair.a, {
      category: 'later-doomed',
      recipientIds: ['sched-doomed'],
      title: 'waits',
      sendAt: at(3600_000),
    });
    const remove = () =>
      run(pair.a, DeleteCategoryDocument, { name: 'later-doomed' }, ADMIN).then(
        (result) => result.errors?.[0]?.extensions?.code,
      );
    expect(await remove()).toBe('CATEGORY_IN_USE');
    expect((await cancel(pair.b, answer.notification.id)).data?.cancelled).toBe(true);
    expect(await remove()).toBeUndefined();
  });
});

describe('a scheduled public send', () => {
  it('is in no count or public stream before its time, then once in both', async () => {
    await upsertCategory(pair.a, { name: 'later-public' });
    const watcher = await userSocket(pair.b, 'public-watcher');
    const live = new Stream<{ publicNotifications: Event }>(
      watcher,
      'subscription { publicNotifications { type cursor notification { id title } } }',
    );
    // Immediate public sends until one arrives prove the subscription listens.
    const probes: string[] = [];
    while (live.results.length === 0) {
      const probe = await schedule(pair.a, {
        category: 'later-public',
        public: true,
        title: 'probe',
      });
      probes.push(probe.notification.id);
      await live.waitFor(() => live.results.length > 0, 250, 'a probe').catch(() => undefined);
      expect(probes.length).toBeLessThan(40);
    }
    await sleep(300);
    const heard = live.results.length;
    const user = 'sched-public-reader';
    const countBefore = (await inbox(pair.a, user, 'later-public')).count;
    expect(countBefore).toBe(probes.length);
    const sendAt = at(1500);
    const answer = await schedule(pair.b, {
      category: 'later-public',
      public: true,
      title: 'for all, later',
      sendAt,
    });
    expect(answer).toMatchObject({ scheduledFor: sendAt, recipientCount: 0 });
    await sleep(500);
    expect((await inbox(pair.a, user, 'later-public')).count).toBe(countBefore);
    expect(live.results).toHaveLength(heard);
    const publicOnes = () =>
      live.results.filter(
        (r) => r.data?.publicNotifications.notification.id === answer.notification.id,
      );
    await live.waitFor(() => publicOnes().length > 0, 5000, 'the scheduled public send');
    expect(Date.now() - Date.parse(sendAt)).toBeLessThan(1000);
    await sleep(1000);
    expect(publicOnes()).toHaveLength(1);
    const after = await inbox(pair.a, user, 'later-public');
    expect(after.count).toBe(countBefore + 1);
    expect(after.ids.sort()).toEqual([...probes, answer.notification.id].sort());
    live.close();
  });
});

describe('sendNotifications with sendAt', () => {
  it('stores a batch with scheduled and immediate sends, each delivered at its own time', async () => {
    const user = 'sched-batch';
    const { stream, received } = await device(pair.a, user);
    const sendAt = at(1500);
    const result = await pair.b.request<{ sendNotifications: Payload[] }>(
      `mutation Batch($all: [SendNotificationInput!]!) {
        sendNotifications(inputs: $all) { notification { id title createdAt expiresAt } scheduledFor recipientCount deduplicated }
      }`,
      {
        all: [
          { category: 'later', recipientIds: [user], title: 'now' },
          { category: 'later', recipientIds: [user], title: 'soon', sendAt },
        ],
      },
      SERVICE,
    );
    const [now, soon] = result.data!.sendNotifications as [Payload, Payload];
    expect(now.scheduledFor).toBeNull();
    expect(soon.scheduledFor).toBe(sendAt);
    await stream.waitFor(() => received(now.notification.id).length === 1, 5000, 'the immediate');
    expect(received(soon.notification.id)).toHaveLength(0);
    await stream.waitFor(() => received(soon.notification.id).length === 1, 5000, 'the scheduled');
    expect(Date.now() - Date.parse(sendAt)).toBeLessThan(1000);
    stream.close();
  });
});

describe('cancelNotification', () => {
  it('cancels a scheduled send before its time: nobody ever sees it', async () => {
    const user = 'sched-cancelled';
    const { stream } = await device(pair.b, user);
    const sendAt = at(1000);
    const answer = await schedule(pair.a, { recipientIds: [user], title: 'never', sendAt });
    const result = await cancel(pair.b, answer.notification.id);
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({
      cancelled: true,
      id: answer.notification.id,
      scheduledFor: sendAt,
    });
    await sleep(2000);
    expect(stream.results).toEqual([]);
    expect(await stored(answer.notification.id)).toEqual({ created: null, events: 0, receipts: 0 });
    expect(await inbox(pair.a, user)).toEqual({ ids: [], history: [], count: 0 });
    // A second cancel finds nothing to cancel.
    expect((await cancel(pair.a, answer.notification.id)).error?.extensions?.code).toBe(
      'NOT_FOUND',
    );
    stream.close();
  });

  it('refuses a cancel after delivery with ALREADY_DELIVERED, pointing at recallNotification', async () => {
    const user = 'sched-too-late';
    const answer = await schedule(pair.a, {
      recipientIds: [user],
      title: 'delivered',
      sendAt: at(300),
    });
    await until(
      () => stored(answer.notification.id),
      (row) => row.events === 1,
      5000,
      'the delivery',
    );
    // Written inline, as users write it.
    const result = await pair.b.request<unknown>(
      `mutation { cancelNotification(id: "${answer.notification.id}") { cancelled } }`,
      {},
      SERVICE,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('ALREADY_DELIVERED');
    expect(result.errors?.[0]?.message).toMatch(/recallNotification/);
    expect(await inbox(pair.b, user)).toMatchObject({ ids: [answer.notification.id], count: 1 });
  });

  it("refuses another service's cancel with NOT_FOUND and still delivers", async () => {
    const user = 'sched-foreign';
    const answer = await schedule(pair.a, {
      recipientIds: [user],
      title: 'mine',
      sendAt: at(1000),
    });
    expect((await cancel(pair.b, answer.notification.id, OTHER)).error?.extensions?.code).toBe(
      'NOT_FOUND',
    );
    // Users are not services.
    expect((await cancel(pair.a, answer.notification.id, user)).error?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    await until(
      () => inbox(pair.a, user),
      (box) => box.count === 1,
      5000,
      'the delivery',
    );
  });

  it('answers NOT_FOUND for an id that is nothing, or not an id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      expect((await cancel(pair.a, id)).error?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('races the delivery: each is either cancelled or delivered, never both, never neither', async () => {
    const user = 'sched-race';
    const [onA, onB] = [await device(pair.a, user), await device(pair.b, user)];
    const sendAt = at(1500);
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        schedule(pair.a, { recipientIds: [user], title: `race ${i}`, sendAt }),
      ),
    );
    const ids = answers.map((answer) => answer.notification.id);
    // Cancels start just before the time and go on while the instances deliver.
    await sleep(Date.parse(sendAt) - Date.now() - 40);
    const outcomes = await Promise.all(
      ids.map(async (id, i) => {
        await sleep(i * 2);
        return cancel(i % 2 ? pair.a : pair.b, id);
      }),
    );
    await sleep(1500);
    let cancelled = 0;
    for (const [i, id] of ids.entries()) {
      const { data, error } = outcomes[i]!;
      const row = await stored(id);
      if (data?.cancelled) {
        cancelled++;
        expect(row).toEqual({ created: null, events: 0, receipts: 0 });
        for (const { received } of [onA, onB]) expect(received(id)).toHaveLength(0);
      } else {
        expect(error?.extensions?.code).toBe('ALREADY_DELIVERED');
        expect(row).toMatchObject({ events: 1, receipts: 1 });
        for (const { received } of [onA, onB]) expect(received(id)).toHaveLength(1);
      }
    }
    expect((await inbox(pair.a, user)).count).toBe(ids.length - cancelled);
    for (const { stream } of [onA, onB]) stream.close();
  });
});

describe('bad input', () => {
  async function counts() {
    const [row] = await query<Record<string, string>>(
      pair.database.url,
      `SELECT (SELECT count(*) FROM "ScheduledSend") AS scheduled,
              (SELECT count(*) FROM "Notification") AS notifications,
              (SELECT count(*) FROM "IdempotencyKey") AS keys`,
    );
    return row;
  }
  const to = { category: 'later', recipientIds: ['sched-bad'], title: 'x' };

  it.each([
    ['a sendAt more than a year ahead', { ...to, sendAt: at(367 * 86_400_000) }],
    ['an expiresAt before sendAt', { ...to, sendAt: at(60_000), expiresAt: at(30_000) }],
    ['a deleteAt before sendAt', { ...to, sendAt: at(60_000), deleteAt: at(30_000) }],
    ['a sendAt that is no date', { ...to, sendAt: 'tomorrow morning' }],
  ])('refuses %s with BAD_USER_INPUT, storing nothing', async (_name, input) => {
    const before = await counts();
    const result = await pair.a.request(
      SCHEDULE,
      { what: { ...input, idempotencyKey: 'bad' } },
      SERVICE,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/sendAt|expiresAt|deleteAt/);
    expect(result.data ?? null).toBeNull();
    expect(await counts()).toEqual(before);
  });

  it('refuses an inline sendAt that is no date before running anything', async () => {
    const before = await counts();
    const result = await pair.a.request(
      `mutation { sendNotification(input: { category: "later", recipientIds: ["sched-bad"], title: "x", sendAt: "31/12/2026" }) { scheduledFor } }`,
      {},
      SERVICE,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await counts()).toEqual(before);
  });
});

describe('every instance down in between', () => {
  it('delivers at once when the first instance starts after sendAt', async () => {
    const database = await createTestDatabase();
    const env = { SERVICE_API_KEYS: KEYS };
    const user = 'sched-restart';
    try {
      const first = await startTestServer({ database, env });
      await upsertCategory(first, { name: 'later' });
      const cursor = await eventCursor(first, user);
      const sendAt = at(1000);
      const answer = await schedule(first, { recipientIds: [user], title: 'survives', sendAt });
      await first.stop();
      await sleep(Date.parse(sendAt) - Date.now() + 1000);
      const startedAt = Date.now();
      const second = await startTestServer({ database, env });
      try {
        const { stream, received } = await device(second, user, cursor);
        await stream.waitFor(
          () => received(answer.notification.id).length === 1,
          5000,
          'the send scheduled before the restart',
        );
        expect(Date.now() - startedAt).toBeLessThan(2000);
        const [row] = await query<{ created: Date }>(
          database.url,
          `SELECT "createdAt" AS created FROM "Notification" WHERE id = $1`,
          [answer.notification.id],
        );
        expect(row!.created.getTime() - startedAt).toBeLessThan(1000);
        stream.close();
      } finally {
        await second.stop();
      }
    } finally {
      await database.drop();
    }
  });
});
