import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcknowledgeDocument, InboxDocument, MarkSeenDocument } from '../client/graphql.js';
import { follow, ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FOLLOW_CASES } from './helpers/shapes.js';

// The whole process once, as the README tells it: a service sends, a user who is online gets it
// live, sees it, acknowledges it, and every device of theirs follows.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'security', requireAck: true, priority: 'URGENT' });
});
afterAll(() => server.stop());

describe.each(FOLLOW_CASES)(
  'the notification lifecycle, written with $name',
  ({ shape, transport, tag }) => {
    const how = { shape, transport };
    /** Users of this case alone. */
    const [alice, bob] = [`alice-${tag}`, `bob-${tag}`];
    it('delivers, marks seen and acknowledges across two devices of one user', async () => {
      const [phone, laptop, bobsPhone] = [
        await follow(server, alice, undefined, how),
        await follow(server, alice, undefined, how),
        await follow(server, bob, undefined, how),
      ];

      const sent = await send(server, {
        category: 'security',
        recipientIds: [alice],
        title: 'New sign-in',
        body: 'From Firefox on Linux',
      });
      const [created] = await phone.waitForCount(1);
      expect(created!.data!.myNotifications).toMatchObject({
        type: 'CREATED',
        unseenCount: 1,
        notification: { id: sent.notification.id, title: 'New sign-in', priority: 'URGENT' },
      });
      await laptop.waitForCount(1);

      await ok(server, MarkSeenDocument, { ids: [sent.notification.id] }, alice);
      const [, seen] = await laptop.waitForCount(2);
      expect(seen!.data!.myNotifications.type).toBe('SEEN');
      // Seen but not acknowledged: a require-ack notification still needs attention.
      expect(seen!.data!.myNotifications.unseenCount).toBe(1);
      const inbox = await ok(server, InboxDocument, {}, alice);
      expect(inbox.unseenNotifications.map((n) => n.id)).toEqual([sent.notification.id]);

      await ok(server, AcknowledgeDocument, { id: sent.notification.id }, alice);
      const [, , acknowledged] = await phone.waitForCount(3);
      expect(acknowledged!.data!.myNotifications).toMatchObject({
        type: 'ACKNOWLEDGED',
        unseenCount: 0,
      });
      expect(acknowledged!.data!.myNotifications.notification.acknowledgedAt).not.toBeNull();
      expect((await ok(server, InboxDocument, {}, alice)).unseenNotifications).toEqual([]);

      // Bob was online throughout and got nothing of Alice's: his first event is his own.
      const own = await send(server, { category: 'security', recipientIds: [bob], title: 'Bob' });
      const [bobsFirst] = await bobsPhone.waitForCount(1);
      expect(bobsFirst!.data!.myNotifications.notification.id).toBe(own.notification.id);
    });
  },
);
