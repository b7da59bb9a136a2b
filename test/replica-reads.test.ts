import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from './helpers/pg-query.js';
import {
  replicaMetrics,
  sendTo,
  SNAPSHOT,
  unseenOn,
  type Snapshot,
} from './helpers/replica-snapshot.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { Stream } from './helpers/stream.js';
import { caughtUp, startStreamingPair, type StreamingPair } from './helpers/streaming-replica.js';
import { upsertCategory } from './helpers/operations.js';
import { until } from './helpers/wait.js';

// Client-facing reads from a real PostgreSQL streaming replica (a hot standby the test builds
// with pg_basebackup), and the rule that a client never reads less than it was told: a read
// waits for the replica to pass the primary's position, or is served by the primary.

const FOLLOW = `subscription Follow($from: String) {
  myNotifications(after: $from) { type notification { id } }
}`;

let pair: StreamingPair;
let server: TestServer;

const send = (recipient: string, title: string) => sendTo(server, recipient, title);
const read = async (userId: string) => {
  const result = await server.request<Snapshot>(SNAPSHOT, {}, userId);
  expect(result.errors).toBeUndefined();
  return result.data!;
};
const metrics = () => replicaMetrics(server);
const readiness = async () => {
  const response = await fetch(new URL('/readyz', server.url));
  return {
    http: response.status,
    ...((await response.json()) as { status: string; checks: Record<string, string> }),
  };
};
const onPrimary = (userId: string) => unseenOn(pair.primary.url('notify'), userId);

beforeAll(async () => {
  pair = await startStreamingPair();
  await query(pair.primary.url(), 'CREATE DATABASE notify');
  await caughtUp(pair);
  server = await startTestServer({
    database: { url: pair.primary.url('notify') },
    env: { DATABASE_REPLICA_URL: pair.standby.url('notify'), REPLICA_MAX_WAIT_MS: '200' },
  });
  await upsertCategory(server, { name: 'info' });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await pair?.remove();
});

describe('reads from a streaming replica', () => {
  it('serves a snapshot read (inbox, list, count, cursor) from the replica, equal to the primary', async () => {
    const sent = [await send('ada', 'one'), await send('ada', 'two')];
    const before = await metrics();
    const snapshot = await read('ada');
    const after = await metrics();
    expect(after.replica - before.replica).toBe(1);
    expect(after.primary).toBe(before.primary);
    const ids = snapshot.box.notifications.map(({ id }) => id);
    expect(ids.toSorted()).toEqual(sent.toSorted());
    expect(snapshot.unseenNotifications.map(({ id }) => id)).toEqual(ids);
    expect(snapshot.count).toBe(2);
    expect(snapshot.box.unseenCount).toBe(2);
    expect(snapshot.eventCursor).toBe(snapshot.box.cursor);
    // The replica really has the service's connections (its table statistics lag by seconds).
    const [activity] = await query<{ backends: number }>(
      pair.standby.url(),
      `SELECT count(*)::int AS backends FROM pg_stat_activity
        WHERE datname = 'notify' AND backend_type = 'client backend'`,
    );
    expect(activity?.backends).toBeGreaterThan(0);
    expect(ids.toSorted()).toEqual(await onPrimary('ada'));
  });

  it('reads from the primary while the replica lags behind a send, then from the replica again', async () => {
    await query(pair.standby.url(), 'SELECT pg_wal_replay_pause()');
    try {
      const id = await send('bea', 'while paused');
      const before = await metrics();
      const started = Date.now();
      const snapshot = await read('bea');
      const after = await metrics();
      expect(snapshot.box.notifications.map((n) => n.id)).toContain(id);
      expect(snapshot.box.unseenCount).toBe(snapshot.box.notifications.length);
      expect(snapshot.count).toBe(snapshot.unseenNotifications.length);
      expect(after.primary - before.primary).toBe(1);
      expect(after.replica).toBe(before.replica);
      // It waited for the replica first, but not much longer than it was allowed to.
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await query(pair.standby.url(), 'SELECT pg_wal_replay_resume()');
    }
    await caughtUp(pair);
    const before = await metrics();
    expect((await read('bea')).count).toBe(1);
    expect((await metrics()).replica - before.replica).toBe(1);
  });

  it('always includes a send the client was told of live, with the replica under write load', async () => {
    const client = server.wsClient({ authorization: `Bearer ${await server.token('cy')}` });
    type Event = { myNotifications: { type: string; notification: { id: string } } };
    // From a cursor: a send made while the subscription starts is replayed, not lost.
    const events = new Stream<Event>(client, FOLLOW, { from: (await read('cy')).eventCursor });
    let loading = true;
    // Sends to others all along; awaited (and its failure reported) at the end.
    const load = (async () => {
      for (let i = 0; loading; i++) await send(`load-${i % 20}`, `load ${i}`);
    })();
    load.catch(() => (loading = false));
    try {
      // The subscription is running once a first send arrives.
      const first = await send('cy', 'first');
      await events.waitFor(() => events.results.length > 0, 5_000, 'the first event');
      expect(events.results[0]?.data?.myNotifications.notification.id).toBe(first);
      for (let i = 0; i < 40; i++) {
        const id = await send('cy', `told ${i}`);
        await events.waitFor(
          () => events.results.some((r) => r.data?.myNotifications.notification.id === id),
          5_000,
          `the event of ${id}`,
        );
        const snapshot = await read('cy');
        expect(snapshot.box.notifications.map((n) => n.id)).toContain(id);
        expect(snapshot.unseenNotifications.map((n) => n.id)).toContain(id);
        expect(snapshot.count).toBe(i + 2);
      }
    } finally {
      loading = false;
      await load;
      events.close();
    }
    // Most of those reads were still served by the replica.
    expect((await metrics()).replica).toBeGreaterThan(10);
  });

  it('reads from the primary while the replica is down, /readyz degraded, and back after', async () => {
    await pair.standby.stop();
    try {
      const id = await send('dan', 'replica away');
      const before = await metrics();
      expect((await read('dan')).box.notifications.map((n) => n.id)).toEqual([id]);
      expect((await metrics()).primary - before.primary).toBe(1);
      const ready = await readiness();
      expect(ready.http).toBe(200);
      expect(ready.status).toBe('degraded');
      expect(ready.checks.replica).toMatch(/^failed/);
      expect(ready.checks.database).toBe('ok');
    } finally {
      await pair.standby.start();
    }
    await caughtUp(pair);
    // The pool drops its broken connections and reads come back to the replica.
    await until(
      async () => {
        const before = await metrics();
        await read('dan');
        return (await metrics()).replica - before.replica;
      },
      (served) => served === 1,
      10_000,
      'a read served by the replica again',
    );
    expect((await readiness()).checks.replica).toBe('ok');
  });
});
