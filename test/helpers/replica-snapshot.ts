import { expect } from 'vitest';
import { query } from './pg-query.js';
import { metricValue } from './raw-socket.js';
import { TEST_API_KEY, type TestServer } from './server.js';

// What the replica tests share: a send in category 'info', a client's snapshot read (inbox,
// list, count, cursor, aliased as clients write them), where the service's reads went, and the
// unseen ids as the primary holds them.

const SEND = `mutation Send($input: SendNotificationInput!) {
  sendNotification(input: $input) { notification { id } }
}`;
export const SNAPSHOT = `query Snapshot {
  box: inbox { notifications { id } unseenCount cursor }
  unseenNotifications { id }
  count: unseenCount
  eventCursor
}`;

export type Snapshot = {
  box: { notifications: { id: string }[]; unseenCount: number; cursor: string };
  unseenNotifications: { id: string }[];
  count: number;
  eventCursor: string;
};

/** Sends `title` to `recipient` through `server`; returns the notification's id. */
export async function sendTo(server: TestServer, recipient: string, title: string) {
  const result = await server.request<{ sendNotification: { notification: { id: string } } }>(
    SEND,
    { input: { category: 'info', recipientIds: [recipient], title } },
    { apiKey: TEST_API_KEY },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.sendNotification.notification.id;
}

/** The service's client reads so far, by where they went, and its fallbacks after replica reads failed. */
export async function replicaMetrics(server: TestServer) {
  const text = await (await fetch(new URL('/metrics', server.url))).text();
  return {
    replica: metricValue(text, 'notifications_replica_reads_total{target="replica"}') ?? 0,
    primary: metricValue(text, 'notifications_replica_reads_total{target="primary"}') ?? 0,
    conflicts: metricValue(text, 'notifications_replica_fallbacks_total{reason="conflict"}') ?? 0,
    failures: metricValue(text, 'notifications_replica_fallbacks_total{reason="failed"}') ?? 0,
  };
}

/** The unseen ids of `userId` as the database at `url` (the primary) holds them. */
export const unseenOn = async (url: string, userId: string) =>
  (
    await query<{ id: string }>(
      url,
      `SELECT n.id::text FROM "Notification" n JOIN "Receipt" r ON r."notificationId" = n.id
        WHERE r."userId" = $1 AND r."seenAt" IS NULL ORDER BY n.id`,
      [userId],
    )
  ).map(({ id }) => id);
