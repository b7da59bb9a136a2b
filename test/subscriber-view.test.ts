import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advance, eventsAfter, type Cursor } from '../src/notifications/event-log.js';
import { unseenCount } from '../src/notifications/inbox.js';
import { acknowledge, markSeen } from '../src/notifications/receipts.js';
import { recallNotification, updateNotification } from '../src/notifications/edit.js';
import { deleteDueNotifications } from '../src/notifications/retention.js';
import { PUBLIC_STREAM, userStream } from '../src/notifications/types.js';
import { deliverable } from '../src/notifications/visibility.js';
import { SubscriberView, type Delivery } from '../src/realtime/subscriber-view.js';
import { UnseenCounter } from '../src/realtime/unseen-counter.js';
import { upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// The live rules of what a user sees (visibility.ts: deliverable, mutedForUser) and counts
// (UnseenCounter), applied by one real SubscriberView fed from the log of a real database, as a
// subscriber's stream feeds it. After every step the count it delivers must equal the database's.

let server: TestServer;
const services = () => server.app.services;
const USER = 'viewer';

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  await upsertCategory(server, { name: 'quiet' });
  await upsertCategory(server, { name: 'likes', batchWindowSeconds: 1 });
  await services().database.preference.create({
    data: { userId: USER, categoryName: 'quiet', muted: true },
  });
});
afterAll(() => server.stop());

/** A SubscriberView fed from the log after each step, with what it emitted. */
class FedView {
  readonly deliveries: Delivery[] = [];
  readonly counter = new UnseenCounter(services().database, USER);
  readonly view: SubscriberView;
  cursor: Cursor = { public: 0n, user: 0n };
  private queue: Promise<void> = Promise.resolve();

  constructor() {
    this.view = new SubscriberView(
      this.counter,
      false,
      async (delivery) => void this.deliveries.push(delivery),
      (task) => void (this.queue = this.queue.then(task)),
    );
  }

  async start() {
    this.cursor = await this.counter.recount();
  }

  /** Feeds the events logged since the last call; answers what they emitted. */
  async catchUp(): Promise<Delivery[]> {
    const emitted = this.deliveries.length;
    const streams = [PUBLIC_STREAM, userStream(USER)];
    const events = await eventsAfter(services().database, USER, streams, this.cursor, 1000);
    for (const event of events) {
      const before = this.cursor;
      this.cursor = advance(this.cursor, event);
      if (deliverable(event)) await this.view.accept(event, before, this.cursor);
    }
    return this.deliveries.slice(emitted);
  }
}

const send = (category: string, extra: { expiresAt?: Date; groupKey?: string } = {}) =>
  services()
    .sender.send('test', {
      category,
      recipientIds: [USER],
      title: category,
      ...extra,
    })
    .then((result) => result.notification);
const counted = () => unseenCount(services().database, USER);

describe('SubscriberView', () => {
  it('delivers what the user sees, with the unseen count the database gives, step by step', async () => {
    const fed = new FedView();
    await fed.start();
    /** The step's deliveries, each of which must carry the database's count. */
    const step = async (types: Delivery['type'][]) => {
      const emitted = await fed.catchUp();
      const count = await counted();
      expect(emitted.map((delivery) => delivery.type)).toEqual(types);
      for (const delivery of emitted) expect(delivery.unseenCount).toBe(count);
      expect(fed.counter.current).toBe(count);
      return { emitted, count };
    };

    const info = await send('info');
    const first = await step(['CREATED']);
    expect(first.count).toBe(1);
    expect(first.emitted[0]!.event.notification.id).toBe(info.id);

    // Muted: not delivered, not counted, yet the next delivery's cursor is past it.
    await send('quiet');
    const muted = await step([]);
    expect(muted.count).toBe(1);
    const mutedAt = fed.cursor.user;
    await send('info');
    const afterMuted = await step(['CREATED']);
    expect(afterMuted.count).toBe(2);
    expect(afterMuted.emitted[0]!.cursor.user).toBeGreaterThan(mutedAt);
    expect(mutedAt).toBeGreaterThan(first.emitted[0]!.cursor.user);

    // Expired by the time it is read from the log: its CREATED is never delivered nor counted.
    const expiring = await send('info', { expiresAt: new Date(Date.now() + 60_000) });
    await services().database.$executeRaw`
      UPDATE "Notification" SET "expiresAt" = now() - interval '1 second'
      WHERE id = ${expiring.id}::uuid`;
    expect((await step([])).count).toBe(2);

    await markSeen(services(), USER, [info.id]);
    expect((await step(['SEEN'])).count).toBe(1);

    // Asks for an acknowledgement: seen is not enough, acknowledged is.
    const terms = await send('terms');
    expect((await step(['CREATED'])).count).toBe(2);
    await markSeen(services(), USER, [terms.id]);
    expect((await step(['SEEN'])).count).toBe(2);
    await acknowledge(services(), USER, terms.id);
    expect((await step(['ACKNOWLEDGED'])).count).toBe(1);

    // Deleted while unseen: the DELETED goes out and the count drops.
    const doomed = await send('info');
    expect((await step(['CREATED'])).count).toBe(2);
    await services().database.$executeRaw`
      UPDATE "Notification" SET "deleteAt" = now() WHERE id = ${doomed.id}::uuid`;
    await deleteDueNotifications(services());
    expect((await step(['DELETED'])).count).toBe(1);

    // Batched: counted at once, delivered as one DIGEST when its window closes; meanwhile a
    // delivery's cursor is held before it, so resuming from there would not lose it.
    const held = fed.cursor;
    const likes = [await send('likes'), await send('likes')];
    expect((await step([])).count).toBe(3);
    await send('info');
    const during = await step(['CREATED']);
    expect(during.count).toBe(4);
    expect(during.emitted[0]!.cursor).toEqual(held);
    const digest = await until(
      () => fed.deliveries.at(-1)!,
      (delivery) => delivery.type === 'DIGEST',
      5000,
      'the DIGEST of the batched category after its 1 s window',
    );
    expect(digest.events.map((event) => event.notification.id)).toEqual(likes.map((n) => n.id));
    expect(digest.unseenCount).toBe(await counted());
    expect(digest.unseenCount).toBe(4);
    expect(digest.cursor).toEqual(fed.cursor);

    // A thread: each grouped one replaces the one before; the count goes up by at most one.
    const opened = await send('info', { groupKey: 'thread' });
    expect((await step(['CREATED'])).count).toBe(5);
    const reply = await send('info', { groupKey: 'thread' });
    const folded = await step(['CREATED']);
    expect(folded.count).toBe(5);
    expect(folded.emitted[0]!.event.fold).toMatchObject({ replaces: opened.id, groupCount: 2 });
    await markSeen(services(), USER, [reply.id]);
    expect((await step(['SEEN'])).count).toBe(4);
    await send('info', { groupKey: 'thread' });
    const afterSeen = await step(['CREATED']);
    expect(afterSeen.count).toBe(5);
    expect(afterSeen.emitted[0]!.event.fold).toMatchObject({ replaces: reply.id, groupCount: 3 });
    // Muted threads fold too, neither delivered nor counted.
    await send('quiet', { groupKey: 'thread' });
    await send('quiet', { groupKey: 'thread' });
    expect((await step([])).count).toBe(5);
    // One that expired before it was folded had stopped counting already.
    const stale = await send('info', {
      groupKey: 'stale',
      expiresAt: new Date(Date.now() + 60_000),
    });
    expect((await step(['CREATED'])).count).toBe(6);
    await services().database.$executeRaw`
      UPDATE "Notification" SET "expiresAt" = now() - interval '1 second'
      WHERE id = ${stale.id}::uuid`;
    await send('info', { groupKey: 'stale' });
    const fresh = await step(['CREATED']);
    expect(fresh.count).toBe(6);
    expect(fresh.emitted[0]!.event.fold).toMatchObject({ replaces: stale.id, groupCount: 2 });

    // A batched thread: one replacing one still waiting takes its place in the DIGEST; one
    // replacing one already delivered goes out at once, with what it replaces.
    const liked = await send('likes', { groupKey: 'post' });
    const likedAgain = await send('likes', { groupKey: 'post' });
    expect((await step([])).count).toBe(7);
    const threadDigest = await until(
      () => fed.deliveries.at(-1)!,
      (delivery) => delivery.type === 'DIGEST' && delivery !== digest,
      5000,
      'the DIGEST of the batched thread',
    );
    expect(threadDigest.events.map((event) => event.notification.id)).toEqual([likedAgain.id]);
    expect(threadDigest.unseenCount).toBe(7);
    expect(liked.id).not.toBe(likedAgain.id);
    await send('likes', { groupKey: 'post' });
    const outright = await step(['CREATED']);
    expect(outright.count).toBe(7);
    expect(outright.emitted[0]!.event.fold).toMatchObject({
      replaces: likedAgain.id,
      groupCount: 3,
    });

    fed.view.close();
  });

  it('delivers updates (no count moves) and recalls (the count drops), and folds into a waiting digest what happens to its notifications', async () => {
    await services().database
      .$executeRaw`TRUNCATE "Notification", "Receipt", "Event", "Stream", "InboxState", "ArchivePosition" CASCADE`;
    const fed = new FedView();
    await fed.start();
    const sender = { kind: 'service' as const, service: 'test' };
    const step = async (types: Delivery['type'][]) => {
      const emitted = await fed.catchUp();
      const count = await counted();
      expect(emitted.map((delivery) => delivery.type)).toEqual(types);
      for (const delivery of emitted) expect(delivery.unseenCount).toBe(count);
      expect(fed.counter.current).toBe(count);
      return { emitted, count };
    };

    const info = await send('info');
    expect((await step(['CREATED'])).count).toBe(1);
    await updateNotification(services(), sender, info.id, { title: 'info, revised' });
    const updated = await step(['UPDATED']);
    expect(updated.count).toBe(1);
    expect(updated.emitted[0]!.event.notification).toMatchObject({
      id: info.id,
      title: 'info, revised',
      editedAt: expect.any(Date),
    });
    await markSeen(services(), USER, [info.id]);
    expect((await step(['SEEN'])).count).toBe(0);
    await updateNotification(services(), sender, info.id, { body: 'seen stays seen' });
    expect((await step(['UPDATED'])).count).toBe(0);

    // A muted one: its CREATED is held back, later events of it go out (as SEEN does).
    const quiet = await send('quiet');
    expect((await step([])).count).toBe(0);
    await updateNotification(services(), sender, quiet.id, { title: 'quiet, revised' });
    expect((await step(['UPDATED'])).count).toBe(0);

    const terms = await send('terms');
    expect((await step(['CREATED'])).count).toBe(1);
    await recallNotification(services(), sender, terms.id);
    expect((await step(['DELETED'])).count).toBe(0);

    // While a digest waits: an update goes into it, a recall takes its notification out of it.
    const likes = [await send('likes'), await send('likes')];
    expect((await step([])).count).toBe(2);
    await updateNotification(services(), sender, likes[0]!.id, { title: 'likes, revised' });
    expect((await step([])).count).toBe(2);
    await recallNotification(services(), sender, likes[1]!.id);
    expect((await step(['DELETED'])).count).toBe(1);
    const digest = await until(
      () => fed.deliveries.at(-1)!,
      (delivery) => delivery.type === 'DIGEST',
      5000,
      'the DIGEST of the batched category after its 1 s window',
    );
    expect(digest.events.map((event) => event.notification.title)).toEqual(['likes, revised']);
    expect(digest.unseenCount).toBe(await counted());
    expect(digest.unseenCount).toBe(1);
    // Once delivered, its changes are events of their own.
    await updateNotification(services(), sender, likes[0]!.id, { title: 'likes, again' });
    expect((await step(['UPDATED'])).count).toBe(1);
    await recallNotification(services(), sender, likes[0]!.id);
    expect((await step(['DELETED'])).count).toBe(0);

    fed.view.close();
  });
});
