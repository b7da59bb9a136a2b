import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CategoryPreferencesDocument,
  HistoryDocument,
  InboxDocument,
  SetCategoryPreferenceDocument,
} from '../client/graphql.js';
import { errorCode, follow, ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Per-user category preferences: a muted category is not delivered live and not counted, but
// stays in the history.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'promo' });
  await upsertCategory(server, { name: 'billing' });
  await upsertCategory(server, { name: 'legal', requireAck: true });
});
afterAll(() => server.stop());

const mute = (userId: string, category: string, muted = true) =>
  ok(server, SetCategoryPreferenceDocument, { category, muted }, userId);

describe('muting a category', () => {
  it('keeps it out of live delivery, unseenNotifications and unseenCount, not out of history', async () => {
    await mute('ann', 'promo');
    const stream = await follow(server, 'ann');
    const promo = await send(server, { category: 'promo', recipientIds: ['ann'], title: 'sale' });
    const bill = await send(server, { category: 'billing', recipientIds: ['ann'], title: 'bill' });

    const [event] = await stream.waitForCount(1);
    expect(event!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      unseenCount: 1,
      notification: { id: bill.notification.id },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.results).toHaveLength(1);

    const inbox = await ok(server, InboxDocument, {}, 'ann');
    expect(inbox.unseenNotifications.map((n) => n.id)).toEqual([bill.notification.id]);
    expect(inbox.unseenCount).toBe(1);
    const history = await ok(server, HistoryDocument, {}, 'ann');
    expect(history.notifications.edges.map((e) => e.node.id)).toEqual([
      bill.notification.id,
      promo.notification.id,
    ]);
  });

  it('takes effect on open subscriptions, and unmuting brings unseen ones back into the count', async () => {
    const stream = await follow(server, 'ben');
    await mute('ben', 'promo');
    const muted = await send(server, { category: 'promo', recipientIds: ['ben'], title: 'muted' });
    const bill = await send(server, { category: 'billing', recipientIds: ['ben'], title: 'bill' });
    const [first] = await stream.waitForCount(1);
    expect(first!.data!.myNotifications.notification.id).toBe(bill.notification.id);
    expect(first!.data!.myNotifications.unseenCount).toBe(1);

    await mute('ben', 'promo', false);
    const next = await send(server, { category: 'promo', recipientIds: ['ben'], title: 'next' });
    const [, second] = await stream.waitForCount(2);
    expect(second!.data!.myNotifications.notification.id).toBe(next.notification.id);
    // bill, the formerly muted one, and next.
    expect(second!.data!.myNotifications.unseenCount).toBe(3);
    const inbox = await ok(server, InboxDocument, {}, 'ben');
    expect(inbox.unseenNotifications.map((n) => n.id)).toContain(muted.notification.id);
  });

  it('lists the caller’s preferences only', async () => {
    await mute('cat', 'promo');
    await mute('cat', 'billing', false);
    const { categoryPreferences } = await ok(server, CategoryPreferencesDocument, {}, 'cat');
    expect(categoryPreferences).toEqual([
      { category: 'billing', muted: false },
      { category: 'promo', muted: true },
    ]);
    expect((await ok(server, CategoryPreferencesDocument, {}, 'dan')).categoryPreferences).toEqual(
      [],
    );
  });

  it('refuses to mute a category that requires acknowledgement, or one that does not exist', async () => {
    expect(
      await errorCode(
        server,
        SetCategoryPreferenceDocument,
        { category: 'legal', muted: true },
        'eve',
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      await errorCode(
        server,
        SetCategoryPreferenceDocument,
        { category: 'nope', muted: true },
        'eve',
      ),
    ).toBe('UNKNOWN_CATEGORY');
    expect((await ok(server, CategoryPreferencesDocument, {}, 'eve')).categoryPreferences).toEqual(
      [],
    );
  });
});
