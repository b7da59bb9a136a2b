import { describe, expect, it } from 'vitest';
import {
  ArchiveAllDocument,
  ArchiveDocument,
  MarkSeenDocument,
  MarkUnseenDocument,
  OpenInboxDocument,
  SnoozeDocument,
  UnarchiveDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import { pairForTests } from './helpers/cluster.js';
import { follow, ok, send } from './helpers/operations.js';
import type { TestServer } from './helpers/server.js';
import { FOLLOW_CASES } from './helpers/shapes.js';
import type { Stream } from './helpers/stream.js';

// The inbox as people manage it, live: dismiss, clear all, mark unseen and snooze on one device
// reach every device of the user, on either of two instances behind one Redis, each event once,
// with an unseenCount equal to the inbox's list; a device that was away resumes with exactly
// what it missed. Over every way a client writes myNotifications, over graphql-ws and SSE.

const pair = pairForTests({
  categories: [
    { name: 'info' },
    { name: 'terms', requireAck: true },
    { name: 'likes', batchWindowSeconds: 1 },
  ],
});

type Device = Stream<MyNotificationsSubscription>;
const eventsOf = (device: Device) => device.results.map((r) => r.data!.myNotifications);

/** The user's inbox as a client loads it; its count must be its list's length. */
async function inboxOf(server: TestServer, userId: string) {
  const { inbox } = await ok(server, OpenInboxDocument, {}, userId);
  expect(inbox.unseenCount).toBe(inbox.notifications.length);
  return inbox;
}

describe.each(FOLLOW_CASES)(
  'managing the inbox, written with $name',
  ({ shape, transport, tag }) => {
    const how = { shape, transport };
    const user = `manager-${tag}`;

    it('reaches both devices on both instances once each, with the inbox count, and resumes', async () => {
      const phone = await follow(pair.a, user, undefined, how);
      const laptop = await follow(pair.b, user, undefined, how);
      const devices = [phone, laptop];

      /** Waits for the next event on both devices; checks its type, target and count. */
      let received = 0;
      const next = async (type: string, id?: string) => {
        const count = ++received;
        const inboxCount = async () => (await inboxOf(pair.a, user)).unseenCount;
        for (const device of devices) {
          await device.waitForCount(count, 8000);
          const event = eventsOf(device)[count - 1]!;
          expect(event.type).toBe(type);
          if (id) expect(event.notification.id).toBe(id);
          expect(event.unseenCount).toBe(await inboxCount());
        }
        expect(laptop.results).toHaveLength(phone.results.length);
      };

      const mine = await send(pair.a, { category: 'info', recipientIds: [user], title: 'private' });
      await next('CREATED', mine.notification.id);
      const everyone = await send(pair.b, { category: 'info', public: true, title: 'public' });
      await next('CREATED', everyone.notification.id);
      const liked = await send(pair.a, {
        category: 'likes',
        recipientIds: [user],
        title: 'batched',
      });
      await next('DIGEST', liked.notification.id);
      const terms = await send(pair.b, { category: 'terms', recipientIds: [user], title: 'terms' });
      await next('CREATED', terms.notification.id);

      // Dismiss, on one instance; every device follows on both.
      await ok(pair.a, ArchiveDocument, { ids: [mine.notification.id] }, user);
      await next('ARCHIVED', mine.notification.id);
      await ok(pair.b, MarkSeenDocument, { ids: [everyone.notification.id] }, user);
      await next('SEEN', everyone.notification.id);
      await ok(pair.a, MarkUnseenDocument, { ids: [everyone.notification.id] }, user);
      await next('UNSEEN', everyone.notification.id);
      const until = new Date(Date.now() + 1500).toISOString();
      await ok(pair.b, SnoozeDocument, { id: liked.notification.id, until }, user);
      await next('SNOOZED', liked.notification.id);
      // Back when its time comes, from whichever instance's waker ends it: once.
      await next('UNSNOOZED', liked.notification.id);
      await ok(pair.a, UnarchiveDocument, { ids: [mine.notification.id] }, user);
      await next('UNARCHIVED', mine.notification.id);

      if (!shape.resumes) {
        for (const device of devices) device.close();
        return;
      }
      // The phone goes away; meanwhile the user clears all on the laptop and a snooze runs out.
      const cursor = phone.results.at(-1)!.data!.myNotifications.cursor;
      phone.close();
      const seenBefore = eventsOf(laptop).length;
      await ok(pair.b, SnoozeDocument, { id: everyone.notification.id, until: soon() }, user);
      expect(
        await ok(pair.a, ArchiveAllDocument, { filter: { categories: ['likes'] } }, user),
      ).toEqual({
        archiveAll: 1,
      });
      await laptop.waitForCount(seenBefore + 3, 8000);
      const missed = eventsOf(laptop).slice(seenBefore);
      expect(missed.map((event) => event.type)).toEqual(['SNOOZED', 'ALL_ARCHIVED', 'UNSNOOZED']);

      const resumed = await follow(pair.b, user, cursor, how);
      await resumed.waitForCount(missed.length, 8000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The same events, each once, in order; a replay's counts are the count as it is now.
      const withoutCount = (events: ReturnType<typeof eventsOf>) =>
        events.map(({ unseenCount: _count, ...event }) => event);
      expect(withoutCount(eventsOf(resumed))).toEqual(withoutCount(missed));
      const inbox = await inboxOf(pair.a, user);
      expect(eventsOf(resumed).every((event) => event.unseenCount === inbox.unseenCount)).toBe(
        true,
      );
      expect(eventsOf(resumed).at(-1)!.unseenCount).toBe(inbox.unseenCount);
      // Earlier cases' public notifications are this user's too.
      const listed = inbox.notifications.map((n) => n.id);
      expect(listed).toEqual(
        expect.arrayContaining([
          mine.notification.id,
          everyone.notification.id,
          terms.notification.id,
        ]),
      );
      expect(listed).not.toContain(liked.notification.id);
      resumed.close();
      laptop.close();
    }, 60_000);
  },
);

const soon = () => new Date(Date.now() + 1200).toISOString();
