import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InboxDocument,
  MyNotificationsWithDigestsDocument,
  type MyNotificationsWithDigestsSubscription,
} from '../client/graphql.js';
import { follow as followUser, ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { typedDocument } from './helpers/shapes.js';
import type { Stream } from './helpers/stream.js';

// A category with batchWindowSeconds: its notifications are stored at once, listed one by one,
// but delivered live as one DIGEST event per window.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'likes', batchWindowSeconds: 1 });
  await upsertCategory(server, { name: 'direct' });
});
afterAll(() => server.stop());

/** The typed document that selects a digest's notifications too. */
const WITH_DIGESTS = typedDocument('with digests', MyNotificationsWithDigestsDocument);
const follow = (userId: string, after?: string) =>
  followUser<MyNotificationsWithDigestsSubscription>(server, userId, after, {
    shape: WITH_DIGESTS,
  });
const events = (stream: Stream<MyNotificationsWithDigestsSubscription>) =>
  stream.results.map((result) => result.data!.myNotifications);

describe('digests', () => {
  it('gathers a window of a batched category into one DIGEST; others pass at once', async () => {
    const stream = await follow('liz');
    const likes = [];
    for (const title of ['like 1', 'like 2', 'like 3']) {
      likes.push(await send(server, { category: 'likes', recipientIds: ['liz'], title }));
    }
    const direct = await send(server, { category: 'direct', recipientIds: ['liz'], title: 'hi' });

    const [first, second] = await stream.waitForCount(2, 5000);
    expect(first!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      notification: { id: direct.notification.id },
      unseenCount: 4,
    });
    expect(second!.data!.myNotifications).toMatchObject({ type: 'DIGEST', unseenCount: 4 });
    expect(second!.data!.myNotifications.notifications.map((n) => n.id)).toEqual(
      likes.map((l) => l.notification.id),
    );
    expect(second!.data!.myNotifications.notification.id).toBe(likes[2]!.notification.id);

    // Listed one by one.
    const inbox = await ok(server, InboxDocument, {}, 'liz');
    expect(inbox.unseenNotifications).toHaveLength(4);
  });

  it('holds the cursor back while a digest waits, so resuming from it loses nothing', async () => {
    const stream = await follow('max');
    const like = await send(server, { category: 'likes', recipientIds: ['max'], title: 'like' });
    const direct = await send(server, { category: 'direct', recipientIds: ['max'], title: 'hi' });
    const [first] = await stream.waitForCount(1);
    expect(first!.data!.myNotifications.notification.id).toBe(direct.notification.id);
    // The client goes away before the digest arrives and resumes from the cursor it has.
    stream.close();
    const resumed = await follow('max', first!.data!.myNotifications.cursor);
    await resumed.waitForCount(2, 5000);
    const ids = events(resumed).flatMap((e) => e.notifications.map((n) => n.id));
    expect(ids).toContain(like.notification.id);
  });
});
