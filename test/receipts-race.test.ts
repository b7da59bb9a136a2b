import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Steps 3, 4 and 6 at once: a user marks seen or acknowledges a notification at the moment it
// is deleted. The answer is the notification (it was there) or NOT_FOUND (it was gone), and
// nothing is left half-written; never an internal error.

let server: TestServer;
const USER = 'racing-user';
const TRIES = 80;

beforeAll(async () => {
  server = await startTestServer({ env: { RATE_LIMIT_MUTATIONS_PER_USER: '0' } });
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
});
afterAll(() => server.stop());

const deleteNotification = (id: string) =>
  server.app.services.database.$executeRaw`DELETE FROM "Notification" WHERE id = ${id}::uuid`;

/** Each try's outcome: 'ok' or the error code. */
async function race(
  category: string,
  mutate: (id: string) => Promise<{ errors?: readonly { extensions?: Record<string, unknown> }[] }>,
) {
  const outcomes: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    const audience = i % 2 === 0 ? { recipientIds: [USER] } : { public: true };
    const { notification } = await send(server, { category, title: `try ${i}`, ...audience });
    const [result] = await Promise.all([
      mutate(notification.id),
      deleteNotification(notification.id),
    ]);
    outcomes.push((result.errors?.[0]?.extensions?.code as string | undefined) ?? 'ok');
  }
  return outcomes;
}

const allowed = (outcomes: string[]) => outcomes.filter((o) => o !== 'ok' && o !== 'NOT_FOUND');

describe('receipts racing a deletion', () => {
  it('markSeen answers the notification or NOT_FOUND, never an internal error', async () => {
    const outcomes = await race('info', (id) =>
      server.request(
        `mutation ($ids: [ID!]!) { markSeen(ids: $ids) { id seenAt } }`,
        { ids: [id] },
        USER,
      ),
    );
    expect(allowed(outcomes)).toEqual([]);
  });

  it('acknowledge answers the notification or NOT_FOUND, never an internal error', async () => {
    const outcomes = await race('terms', (id) =>
      server.request(`mutation Ack($n: ID!) { done: acknowledge(id: $n) { id } }`, { n: id }, USER),
    );
    expect(allowed(outcomes)).toEqual([]);
  });

  it('markAllSeen marks everything there was, never stopping half-way on a deleted one', async () => {
    const database = server.app.services.database;
    for (let i = 0; i < TRIES / 4; i++) {
      const doomed = await send(server, {
        category: 'info',
        title: 'doomed',
        recipientIds: [USER],
      });
      const stays = await send(server, { category: 'info', title: 'stays', recipientIds: [USER] });
      const [result] = await Promise.all([
        server.request<{ markAllSeen: number }>(`mutation { markAllSeen }`, {}, USER),
        deleteNotification(doomed.notification.id),
      ]);
      expect(result.errors).toBeUndefined();
      const receipt = await database.receipt.findUniqueOrThrow({
        where: { userId_notificationId: { userId: USER, notificationId: stays.notification.id } },
      });
      expect(receipt.seenAt).not.toBeNull();
    }
    const after = await server.request<{ unseenCount: number }>(`{ unseenCount }`, {}, USER);
    expect(after.data?.unseenCount).toBe(0);
  });
});
