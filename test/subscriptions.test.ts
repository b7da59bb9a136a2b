import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcknowledgeDocument,
  InboxDocument,
  MarkSeenDocument,
  PublicNotificationsDocument,
  UnseenCountDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import { createSender } from '../src/notifications/send.js';
import type { JoinStage } from '../src/realtime/notification-stream.js';
import { follow, ok, send, subscribe, upsertCategory, userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FOLLOW_CASES } from './helpers/shapes.js';
import { Stream } from './helpers/stream.js';

// Step 2 of the process, live: what a subscriber receives, and that reconnecting with the last
// cursor misses nothing and repeats nothing.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(() => server.stop());

const events = (stream: Stream<MyNotificationsSubscription>) =>
  stream.results.map((result) => result.data!.myNotifications);

describe.each(FOLLOW_CASES)('myNotifications written with $name', ({ shape, transport, tag }) => {
  const how = { shape, transport };
  /** Users of this case alone: cases share the server, not their users' state. */
  const user = (name: string) => `${name}-${tag}`;
  it('delivers a public notification to every user online, and lists it for users who come later', async () => {
    const [carol, dave] = await Promise.all([
      follow(server, user('carol'), undefined, how),
      follow(server, user('dave'), undefined, how),
    ]);
    const sent = await send(server, { category: 'info', public: true, title: 'Maintenance' });
    for (const stream of [carol, dave]) {
      const [event] = await stream.waitForCount(1);
      expect(event!.data!.myNotifications).toMatchObject({
        type: 'CREATED',
        notification: { id: sent.notification.id, public: true },
      });
    }
    const latecomer = await ok(server, InboxDocument, {}, user('erin-who-never-connected'));
    expect(latecomer.unseenNotifications.map((n) => n.id)).toContain(sent.notification.id);
  });

  // A shape without `after` cannot resume.
  it.skipIf(!shape.resumes)(
    'replays exactly what was missed when a client resumes with its last cursor',
    async () => {
      const first = await follow(server, user('frank'), undefined, how);
      const before = await send(server, {
        category: 'info',
        recipientIds: [user('frank')],
        title: 'one',
      });
      const [received] = await first.waitForCount(1);
      const lastCursor = received!.data!.myNotifications.cursor;
      first.close();

      // While frank is away: a private send, a public send, and a "seen" from another device.
      const missedPrivate = await send(server, {
        category: 'info',
        recipientIds: [user('frank')],
        title: 'two',
      });
      const missedPublic = await send(server, { category: 'info', public: true, title: 'three' });
      await ok(server, MarkSeenDocument, { ids: [before.notification.id] }, user('frank'));

      const resumed = await follow(server, user('frank'), lastCursor, how);
      await resumed.waitForCount(3);
      expect(events(resumed).map((e) => [e.type, e.notification.id])).toEqual([
        ['CREATED', missedPrivate.notification.id],
        ['CREATED', missedPublic.notification.id],
        ['SEEN', before.notification.id],
      ]);
      const live = await send(server, {
        category: 'info',
        recipientIds: [user('frank')],
        title: 'four',
      });
      await resumed.waitForCount(4);
      expect(events(resumed)[3]!.notification.id).toBe(live.notification.id);
    },
  );

  // A shape without `after` cannot resume.
  it.skipIf(!shape.resumes)(
    'joins replay and live with no gap and no duplicate, whatever is sent at each step of the join',
    async () => {
      const gina = user('gina');
      const sendToGina = async (title: string) =>
        (await send(server, { category: 'info', recipientIds: [gina], title })).notification.id;
      const { eventCursor } = await ok(server, InboxDocument, {}, gina);
      const missed = await sendToGina('missed');
      // Sent once the stream listens but before it reads the log (arrives both ways: once
      // only), and once it has replayed but before it takes live events (arrives live only).
      const sentAt = new Map<JoinStage, string>();
      server.app.services.streamHooks.onStage = async (stage, userId) => {
        if (userId === gina) sentAt.set(stage, await sendToGina(stage));
      };
      try {
        const stream = await follow(server, gina, eventCursor, how);
        await stream.waitForCount(3);
        expect(sentAt.size).toBe(2);
        // Anything delivered twice would come before a later send: wait for it, compare all.
        const later = await sendToGina('later');
        await stream.waitForCount(4);
        expect(events(stream).map((e) => e.notification.id)).toEqual([
          missed,
          sentAt.get('listening'),
          sentAt.get('replayed'),
          later,
        ]);
      } finally {
        delete server.app.services.streamHooks.onStage;
      }
    },
  );

  it('fills a gap from the log when an event was committed but never published', async () => {
    const stream = await follow(server, user('hank'), undefined, how);
    const silentBus = { ...server.app.services.bus, publish: async () => {} };
    const lost = await createSender({ ...server.app.services, bus: silentBus }).send('test', {
      category: 'info',
      recipientIds: [user('hank')],
      title: 'published nowhere',
    });
    const next = await send(server, {
      category: 'info',
      recipientIds: [user('hank')],
      title: 'next',
    });
    await stream.waitForCount(2);
    expect(events(stream).map((e) => e.notification.id)).toEqual([
      lost.notification.id,
      next.notification.id,
    ]);
  });

  it('carries the exact unseenCount in every event', async () => {
    const stream = await follow(server, user('ivy'), undefined, how);
    for (let i = 1; i <= 3; i++) {
      await send(server, { category: 'info', recipientIds: [user('ivy')], title: `n${i}` });
      const event = (await stream.waitForCount(i))[i - 1]!.data!.myNotifications;
      const { unseenCount } = await ok(server, UnseenCountDocument, {}, user('ivy'));
      expect(event.unseenCount).toBe(unseenCount);
    }
    await ok(server, MarkSeenDocument, { ids: [events(stream)[0]!.notification.id] }, user('ivy'));
    const seen = (await stream.waitForCount(4))[3]!.data!.myNotifications;
    expect(seen.unseenCount).toBe(
      (await ok(server, UnseenCountDocument, {}, user('ivy'))).unseenCount,
    );
  });

  it('keeps unseenCount exact through public sends, expiries, require-ack and publicNotifications', async () => {
    await upsertCategory(server, { name: 'terms', requireAck: true });
    const stream = await follow(server, user('ivo'), undefined, how);
    const publicOnly = subscribe(
      await userSocket(server, user('ivo')),
      PublicNotificationsDocument,
      {},
    );
    const counts = async () => (await ok(server, UnseenCountDocument, {}, user('ivo'))).unseenCount;
    const before = await counts();
    const expectLastCountExact = async (total: number) => {
      const [...all] = await stream.waitForCount(total);
      expect(all.at(-1)!.data!.myNotifications.unseenCount).toBe(await counts());
    };

    const briefUntil = Date.now() + 2000;
    const brief = new Date(briefUntil).toISOString();
    await send(server, {
      category: 'info',
      recipientIds: [user('ivo')],
      title: 'brief',
      expiresAt: brief,
    });
    await expectLastCountExact(1);
    const terms = await send(server, {
      category: 'terms',
      recipientIds: [user('ivo')],
      title: 'terms',
    });
    await expectLastCountExact(2);
    await new Promise((resolve) => setTimeout(resolve, briefUntil - Date.now() + 50));
    // "brief" expired without an event; the next event's count must not include it.
    const pub = await send(server, { category: 'info', public: true, title: 'public' });
    await expectLastCountExact(3);
    await ok(
      server,
      MarkSeenDocument,
      { ids: [pub.notification.id, terms.notification.id] },
      user('ivo'),
    );
    await expectLastCountExact(5);
    await ok(server, AcknowledgeDocument, { id: terms.notification.id }, user('ivo'));
    await expectLastCountExact(6);
    // Back to where it started (public notifications of other tests may be pending for ivo).
    expect(await counts()).toBe(before);

    // The public-only stream saw one event, with the count as it was then.
    expect(publicOnly.results.map((r) => r.data!.publicNotifications.unseenCount)).toEqual([
      before + 2,
    ]);
  });

  // A shape without `after` cannot resume.
  it.skipIf(!shape.resumes)('never replays a notification that has expired', async () => {
    const { eventCursor } = await ok(server, InboxDocument, {}, user('jack'));
    const soon = new Date(Date.now() + 1000).toISOString();
    await send(server, {
      category: 'info',
      recipientIds: [user('jack')],
      title: 'brief',
      expiresAt: soon,
    });
    const lasting = await send(server, {
      category: 'info',
      recipientIds: [user('jack')],
      title: 'lasting',
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stream = await follow(server, user('jack'), eventCursor, how);
    await stream.waitForCount(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events(stream).map((e) => e.notification.title)).toEqual(['lasting']);
    expect(lasting.notification.expiresAt).toBeNull();
  });

  // A shape without `after` cannot resume.
  it.skipIf(!shape.resumes)('refuses a cursor it did not issue with BAD_USER_INPUT', async () => {
    const stream = await follow(server, user('kim'), 'not-a-cursor', how);
    const [result] = await stream.waitForCount(1);
    expect(result!.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result!.data).toBeFalsy();
  });
});

describe('publicNotifications', () => {
  it('streams public notifications only', async () => {
    const socket = await userSocket(server, 'leo');
    const stream = subscribe(socket, PublicNotificationsDocument, {});
    const mine = await follow(server, 'leo');
    await send(server, { category: 'info', recipientIds: ['leo'], title: 'private' });
    await mine.waitForCount(1);
    const sent = await send(server, { category: 'info', public: true, title: 'for all' });
    const [event] = await stream.waitForCount(1);
    expect(event!.data!.publicNotifications).toMatchObject({
      type: 'CREATED',
      notification: { id: sent.notification.id, title: 'for all' },
    });
    expect(stream.results).toHaveLength(1);
  });
});
