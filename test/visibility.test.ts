import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advance, eventsAfter, type Cursor } from '../src/notifications/event-log.js';
import { unseenCount, unseenNotifications } from '../src/notifications/inbox.js';
import { archive, archiveAll, unarchive } from '../src/notifications/archive.js';
import { acknowledge, markAllSeen, markSeen, markUnseen } from '../src/notifications/receipts.js';
import { snooze, wakeDueSnoozes } from '../src/notifications/snooze.js';
import { deleteDueNotifications } from '../src/notifications/retention.js';
import { recallNotification, updateNotification } from '../src/notifications/edit.js';
import { PUBLIC_STREAM, userStream } from '../src/notifications/types.js';
import { deliverable, type InboxFilter } from '../src/notifications/visibility.js';
import { UnseenCounter } from '../src/realtime/unseen-counter.js';
import { upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// The rules of what a user counts live in notifications/visibility.ts twice over: as SQL and as
// the arithmetic a live counter applies to events. Random sequences of sends (private ones
// grouped or not, folding earlier ones), seen, unseen, acknowledged, archived, unarchived,
// snoozed and woken, markAllSeen, archiveAll, deletions, updates and recalls are fed to real
// counters from the event log (one of them narrowed by a filter), and after every step each
// counter must agree with the database's count and with the length of the list.

let server: TestServer;
const services = () => server.app.services;
const USERS = ['ada', 'bo'];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  await upsertCategory(server, { name: 'terms', requireAck: true });
  await upsertCategory(server, { name: 'muted-by-ada' });
  await services().database.preference.create({
    data: { userId: 'ada', categoryName: 'muted-by-ada', muted: true },
  });
});
afterAll(() => server.stop());

type Step =
  | { kind: 'send'; to: 'public' | number[]; category: string; group?: string | null }
  | { kind: 'seen'; user: number; pick: number }
  | { kind: 'ack'; user: number; pick: number }
  | { kind: 'allSeen'; user: number }
  | { kind: 'unseen' | 'archive' | 'unarchive' | 'snooze'; user: number; pick: number }
  | { kind: 'wake' }
  | { kind: 'archiveAll'; user: number; filter: InboxFilter }
  | { kind: 'delete'; pick: number }
  | { kind: 'update' | 'recall'; pick: number };

const user = fc.integer({ min: 0, max: USERS.length - 1 });
const pick = fc.nat();
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('send' as const),
    to: fc.oneof(
      fc.constant('public' as const),
      fc.uniqueArray(user, { minLength: 1, maxLength: USERS.length }),
    ),
    category: fc.constantFrom('info', 'terms', 'muted-by-ada'),
    // Private sends in a thread fold the recipient's earlier one (public ones are not grouped).
    group: fc.option(fc.constantFrom('g1', 'g2'), { nil: null }),
  }),
  fc.record({ kind: fc.constant('seen' as const), user, pick }),
  fc.record({ kind: fc.constant('ack' as const), user, pick }),
  fc.record({ kind: fc.constant('allSeen' as const), user }),
  fc.record({
    kind: fc.constantFrom('unseen' as const, 'archive' as const, 'unarchive' as const),
    user,
    pick,
  }),
  fc.record({ kind: fc.constant('snooze' as const), user, pick }),
  fc.record({ kind: fc.constant('wake' as const) }),
  fc.record({
    kind: fc.constant('archiveAll' as const),
    user,
    filter: fc.record(
      {
        categories: fc.constantFrom(['info'], ['terms'], ['info', 'muted-by-ada']),
        status: fc.constantFrom('ALL' as const, 'SEEN' as const, 'SNOOZED' as const),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
  fc.record({ kind: fc.constantFrom('update' as const, 'recall' as const), pick }),
);

/** The service the sends come from, which may update and recall them. */
const SENDER = { kind: 'service' as const, service: 'test' };

/** What a refusal the step may meet (archiving what awaits an acknowledgement) leaves alone. */
const refused = (codes: string[]) => (error: { code?: string }) => {
  if (!codes.includes(error.code ?? '')) throw error;
};

/** A counter fed from the log, as a subscriber's stream feeds it. */
class FedCounter {
  readonly counter: UnseenCounter;
  private cursor: Cursor = { public: 0n, user: 0n };

  constructor(
    readonly userId: string,
    readonly filter: InboxFilter = {},
  ) {
    this.counter = new UnseenCounter(services().database, userId, filter);
  }

  async start() {
    this.cursor = await this.counter.recount();
  }

  async catchUp() {
    const streams = [PUBLIC_STREAM, userStream(this.userId)];
    const events = await eventsAfter(services().database, this.userId, streams, this.cursor, 1000);
    for (const event of events) {
      this.cursor = advance(this.cursor, event);
      // What a stream delivers, by the same rule.
      if (deliverable(event)) await this.counter.after(event);
    }
    return this.counter.current;
  }
}

async function apply(step: Step, sent: { id: string; to: 'public' | number[] }[]) {
  const deps = services();
  const chosen = sent.length ? sent[('pick' in step ? step.pick : 0) % sent.length] : undefined;
  const visibleTo = (index: number) =>
    chosen && (chosen.to === 'public' || chosen.to.includes(index));
  switch (step.kind) {
    case 'send': {
      const { notification } = await deps.sender.send('test', {
        category: step.category,
        title: 'x',
        ...(step.to === 'public'
          ? { public: true }
          : { recipientIds: step.to.map((i) => USERS[i]!), groupKey: step.group ?? null }),
      });
      sent.push({ id: notification.id, to: step.to });
      return;
    }
    case 'seen':
      if (visibleTo(step.user)) await markSeen(deps, USERS[step.user]!, [chosen!.id]);
      return;
    case 'ack':
      if (!visibleTo(step.user)) return;
      await acknowledge(deps, USERS[step.user]!, chosen!.id).catch((error: { code?: string }) => {
        if (error.code !== 'BAD_USER_INPUT') throw error;
      });
      return;
    case 'allSeen':
      await markAllSeen(deps, USERS[step.user]!);
      return;
    case 'unseen':
      if (visibleTo(step.user)) await markUnseen(deps, USERS[step.user]!, [chosen!.id]);
      return;
    case 'archive':
      if (!visibleTo(step.user)) return;
      await archive(deps, USERS[step.user]!, [chosen!.id]).catch(
        refused(['ACKNOWLEDGEMENT_REQUIRED']),
      );
      return;
    case 'unarchive':
      if (visibleTo(step.user)) await unarchive(deps, USERS[step.user]!, [chosen!.id]);
      return;
    case 'snooze':
      if (!visibleTo(step.user)) return;
      await snooze(deps, USERS[step.user]!, chosen!.id, new Date(Date.now() + 3_600_000)).catch(
        refused(['BAD_USER_INPUT']),
      );
      return;
    case 'wake':
      // Their time comes: the waker ends them (the app's own waker may race it; each ends once).
      await deps.database.$executeRaw`
        UPDATE "Receipt" SET "snoozedUntil" = now() - interval '1 second'
        WHERE "snoozedUntil" IS NOT NULL`;
      await wakeDueSnoozes(deps, 100);
      return;
    case 'archiveAll':
      await archiveAll(deps, USERS[step.user]!, step.filter);
      return;
    case 'delete':
      if (!chosen) return;
      await deps.database.$executeRaw`
        UPDATE "Notification" SET "deleteAt" = now() WHERE id = ${chosen.id}::uuid`;
      await deleteDueNotifications(deps);
      sent.splice(sent.indexOf(chosen), 1);
      return;
    case 'update':
      // New content: no count moves.
      if (chosen) await updateNotification(deps, SENDER, chosen.id, { title: 'y', body: 'z' });
      return;
    case 'recall':
      if (!chosen) return;
      await recallNotification(deps, SENDER, chosen.id);
      sent.splice(sent.indexOf(chosen), 1);
      return;
  }
}

describe('live counting rules', () => {
  it('keep every counter equal to the database count and the list, over random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 8, maxLength: 20 }), async (steps) => {
        await services().database
          .$executeRaw`TRUNCATE "Notification", "Receipt", "Event", "Stream", "InboxState", "ArchivePosition" CASCADE`;
        const counters = [
          ...USERS.map((id) => new FedCounter(id)),
          new FedCounter(USERS[0]!, { categories: ['terms'] }),
        ];
        for (const counter of counters) await counter.start();
        const sent: { id: string; to: 'public' | number[] }[] = [];
        for (const [index, next] of steps.entries()) {
          // A folded one is no longer the user's: acting on it is NOT_FOUND, and changes nothing.
          await apply(next, sent).catch(refused(['NOT_FOUND']));
          for (const fed of counters) {
            const live = await fed.catchUp();
            const counted = await unseenCount(services().database, fed.userId, fed.filter);
            const listed = await unseenNotifications(
              services().database,
              fed.userId,
              1000,
              fed.filter,
            );
            const who = { step: index, user: fed.userId, filter: fed.filter };
            expect({ ...who, live }).toEqual({ ...who, live: counted });
            expect(listed).toHaveLength(counted);
          }
        }
        for (const fed of counters) fed.counter.close();
      }),
      {
        numRuns: 25,
        // The sequences that break naive arithmetic, tried first every time.
        examples: [
          // Folds of unseen, seen, snoozed, archived and require-ack ones, a muted thread.
          [
            [
              { kind: 'send', to: [0, 1], category: 'info', group: 'g1' },
              { kind: 'send', to: [0], category: 'info', group: 'g1' },
              { kind: 'seen', user: 0, pick: 1 },
              { kind: 'send', to: [0, 1], category: 'info', group: 'g1' },
              { kind: 'snooze', user: 1, pick: 2 },
              { kind: 'send', to: [1], category: 'info', group: 'g1' },
              { kind: 'archive', user: 0, pick: 2 },
              { kind: 'send', to: [0], category: 'info', group: 'g1' },
              { kind: 'send', to: [0, 1], category: 'terms', group: 'g1' },
              { kind: 'seen', user: 0, pick: 5 },
              { kind: 'send', to: [0, 1], category: 'terms', group: 'g1' },
              { kind: 'send', to: [0], category: 'muted-by-ada', group: 'g2' },
              { kind: 'send', to: [0], category: 'muted-by-ada', group: 'g2' },
              { kind: 'delete', pick: 6 },
              { kind: 'send', to: [0, 1], category: 'terms', group: 'g1' },
            ],
          ],
          [
            [
              { kind: 'send', to: 'public', category: 'info' },
              { kind: 'send', to: 'public', category: 'terms' },
              { kind: 'seen', user: 0, pick: 0 },
              { kind: 'seen', user: 1, pick: 1 },
              { kind: 'delete', pick: 0 },
              { kind: 'allSeen', user: 1 },
              { kind: 'send', to: 'public', category: 'info' },
              { kind: 'ack', user: 1, pick: 0 },
              { kind: 'delete', pick: 0 },
              { kind: 'seen', user: 0, pick: 0 },
              { kind: 'delete', pick: 0 },
            ],
          ],
          // Public ones the user acts on below and above their positions, and a filtered clear.
          [
            [
              { kind: 'send', to: 'public', category: 'info' },
              { kind: 'send', to: 'public', category: 'terms' },
              { kind: 'send', to: [0, 1], category: 'info' },
              { kind: 'archiveAll', user: 0, filter: {} },
              { kind: 'unarchive', user: 0, pick: 0 },
              { kind: 'allSeen', user: 0 },
              { kind: 'unseen', user: 0, pick: 0 },
              { kind: 'snooze', user: 0, pick: 1 },
              { kind: 'send', to: 'public', category: 'info' },
              { kind: 'archiveAll', user: 0, filter: { categories: ['info'], status: 'SEEN' } },
              { kind: 'wake' },
              { kind: 'ack', user: 0, pick: 1 },
              { kind: 'archive', user: 0, pick: 1 },
              { kind: 'archiveAll', user: 1, filter: { status: 'SNOOZED' } },
              { kind: 'delete', pick: 0 },
            ],
          ],
          // Updates (no count moves) and recalls of public and private ones, seen and not.
          [
            [
              { kind: 'send', to: 'public', category: 'terms' },
              { kind: 'send', to: [0, 1], category: 'info' },
              { kind: 'send', to: [0], category: 'muted-by-ada' },
              { kind: 'update', pick: 0 },
              { kind: 'update', pick: 1 },
              { kind: 'update', pick: 2 },
              { kind: 'seen', user: 0, pick: 1 },
              { kind: 'update', pick: 1 },
              { kind: 'recall', pick: 1 },
              { kind: 'seen', user: 1, pick: 0 },
              { kind: 'recall', pick: 0 },
            ],
          ],
        ],
      },
    );
  }, 300_000);
});
