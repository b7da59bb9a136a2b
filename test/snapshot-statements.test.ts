import { afterAll, beforeAll, expect, it } from 'vitest';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// A request's snapshot is one transaction on one node-postgres client, and its resolvers read it
// at once. A client runs one statement at a time: one asked while another runs is queued by
// node-postgres today, which warns that pg@9 refuses it. So the snapshot hands them over in turn.

const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
let server: TestServer;

beforeAll(async () => {
  process.on('warning', onWarning);
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await send(server, { category: 'info', recipientIds: ['reader'], title: 'one' });
});
afterAll(async () => {
  process.off('warning', onWarning);
  await server?.stop();
});

it('asks its snapshot one statement at a time, however many fields read it together', async () => {
  for (let i = 0; i < 5; i++) {
    const answer = await server.request<{ unseenCount: number; unseenNotifications: unknown[] }>(
      `{ unseenNotifications(limit: 10) { id } unseenCount eventCursor inbox(limit: 5) { unseenCount notifications { id } counts { unseen } } }`,
      {},
      'reader',
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.unseenCount).toBe(1);
  }
  expect(warnings.filter((warning) => warning.includes('already executing'))).toEqual([]);
});
