import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgReader, type SqlReader } from '../src/db/sql-reader.js';
import { currentCursor } from '../src/notifications/event-log.js';
import {
  unseenByCategory,
  unseenNotifications,
  unseenSummary,
} from '../src/notifications/inbox.js';
import { markSeen } from '../src/notifications/receipts.js';
import type { InboxFilter } from '../src/notifications/visibility.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// The reads every connecting client makes (list, count, cursor) run on node-postgres as prepared
// statements, not through Prisma: their rows must be exactly what Prisma's $queryRaw gives for the
// same statement (bigints, dates, JSON, arrays), or a resolver would answer differently.

let server: TestServer;
const services = () => server.app.services;
const USER = 'reader-user';

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info', expireAfterSeconds: 3600 });
  await upsertCategory(server, { name: 'terms', requireAck: true, priority: 'URGENT' });
  await upsertCategory(server, { name: 'muted' });
  await services().database.preference.create({
    data: { userId: USER, categoryName: 'muted', muted: true },
  });
  const sent = [];
  for (const category of ['info', 'terms', 'muted']) {
    sent.push(await send(server, { category, title: `${category} private`, recipientIds: [USER] }));
    sent.push(await send(server, { category, title: `${category} public`, public: true }));
  }
  await markSeen(services(), USER, [sent[1]!.notification.id, sent[2]!.notification.id]);
});
afterAll(() => server.stop());

const FILTERS: InboxFilter[] = [{}, { categories: ['terms'] }, { priorities: ['URGENT'] }];

/** Every connect read of USER, through `reader`. */
async function connectReads(reader: SqlReader) {
  const reads = [];
  for (const filter of FILTERS) {
    reads.push(
      await unseenNotifications(reader, USER, 100, filter),
      await unseenSummary(reader, USER, filter),
      await unseenByCategory(reader, USER, filter),
    );
  }
  return [...reads, await currentCursor(reader, USER)];
}

describe('pgReader', () => {
  it('gives the rows Prisma gives for the connect reads', async () => {
    const reader = pgReader(services().pool);
    // Twice: the second run executes the statements prepared by the first.
    for (let run = 0; run < 2; run++) {
      const [viaPrisma, viaPg] = [
        await connectReads(services().database),
        await connectReads(reader),
      ];
      // Read a moment apart: the database time each count was taken at differs.
      for (const read of [...viaPrisma, ...viaPg]) {
        if (read && 'countedAt' in read) read.countedAt = new Date(0);
      }
      expect(viaPg).toEqual(viaPrisma);
    }
    const [list] = await connectReads(reader);
    expect(list).toHaveLength(3);
  });
});
