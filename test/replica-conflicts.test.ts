import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLatencyProxy, type LatencyProxy } from './helpers/latency-proxy.js';
import { upsertCategory } from './helpers/operations.js';
import { query } from './helpers/pg-query.js';
import {
  replicaMetrics,
  sendTo,
  SNAPSHOT,
  unseenOn,
  type Snapshot,
} from './helpers/replica-snapshot.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { caughtUp, startStreamingPair, type StreamingPair } from './helpers/streaming-replica.js';
import { until } from './helpers/wait.js';

// A hot standby cancels a query (or ends an idle transaction's session) whose locks or snapshot
// stand in the way of replaying the primary's WAL: a recovery conflict, SQLSTATE 40001. That
// costs the request a wait, never its answer: it is answered from the primary, still as one
// snapshot. The standby here gives way at once (max_standby_streaming_delay 0), and is one slow
// network hop from the service, so the request's transaction is open long enough to conflict.

/** Each way: each of the snapshot's statements keeps its transaction open 200 ms longer. */
const REPLICA_DELAY_MS = 100;

let pair: StreamingPair;
let proxy: LatencyProxy;
let server: TestServer;
const logged: Record<string, unknown>[] = [];

const send = (recipient: string, title: string) => sendTo(server, recipient, title);
const metrics = () => replicaMetrics(server);
/** Lock conflicts the standby has resolved by cancelling its readers of `notify`. */
const lockConflicts = async () =>
  (
    await query<{ conflicts: number }>(
      pair.standby.url(),
      `SELECT confl_lock::int AS conflicts FROM pg_stat_database_conflicts WHERE datname = 'notify'`,
    )
  )[0]!.conflicts;
const onPrimary = (userId: string) => unseenOn(pair.primary.url('notify'), userId);
/** The standby sessions (the service's) holding a read lock on "Notification". */
const READERS = `SELECT pid FROM pg_locks WHERE relation = '"Notification"'::regclass
  AND mode = 'AccessShareLock' AND pid <> pg_backend_pid()`;
const replicaReading = async () =>
  (
    await query<{ reading: boolean }>(
      pair.standby.url('notify'),
      `SELECT EXISTS (${READERS}) AS reading`,
    )
  )[0]!.reading;

beforeAll(async () => {
  pair = await startStreamingPair({ standbySettings: { max_standby_streaming_delay: '0' } });
  await query(pair.primary.url(), 'CREATE DATABASE notify');
  await caughtUp(pair);
  const standby = new URL(pair.standby.url('notify'));
  proxy = await startLatencyProxy(
    { host: standby.hostname, port: Number(standby.port) },
    REPLICA_DELAY_MS,
  );
  standby.port = String(proxy.port);
  server = await startTestServer({
    database: { url: pair.primary.url('notify') },
    env: {
      DATABASE_REPLICA_URL: standby.toString(),
      // Waiting for the replica takes round trips through the slow hop: it is not lagging.
      REPLICA_MAX_WAIT_MS: '10000',
      LOG_LEVEL: 'error',
    },
    onLog: (line) => logged.push(line),
  });
  await upsertCategory(server, { name: 'info' });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await pair?.remove();
});

describe('a recovery conflict on the replica', () => {
  it('answers the read from the primary, one consistent snapshot, and counts the fallback', async () => {
    await send('ada', 'one');
    await send('ada', 'two');
    await caughtUp(pair);
    const before = await metrics();
    const conflictsBefore = await lockConflicts();

    const reading = server.request<Snapshot>(SNAPSHOT, {}, 'ada');
    // Once the request's replica transaction has read "Notification" (and holds its lock), the
    // primary sends one more and takes a lock whose replay cancels that transaction.
    await until(replicaReading, (yes) => yes, 10_000, "the request's replica transaction");
    const late = await send('ada', 'while the replica reads');
    await query(
      pair.primary.url('notify'),
      'BEGIN; LOCK TABLE "Notification" IN ACCESS EXCLUSIVE MODE; COMMIT',
    );
    const result = await reading;

    expect(result.errors, JSON.stringify(logged)).toBeUndefined();
    expect(await lockConflicts()).toBeGreaterThan(conflictsBefore);
    const snapshot = result.data!;
    const ids = snapshot.box.notifications.map(({ id }) => id);
    // All from one moment, on the primary after the send: no earlier replica result kept.
    expect(ids).toContain(late);
    expect(ids.toSorted()).toEqual(await onPrimary('ada'));
    expect(snapshot.unseenNotifications.map(({ id }) => id)).toEqual(ids);
    expect(snapshot.box.unseenCount).toBe(ids.length);
    expect(snapshot.count).toBe(ids.length);
    expect(snapshot.eventCursor).toBe(snapshot.box.cursor);
    const after = await metrics();
    expect(after.conflicts - before.conflicts).toBe(1);
    expect(after.replica - before.replica).toBe(1);
  });

  it('answers from the primary when the replica ends the session in the middle of the reads', async () => {
    await send('bea', 'one');
    await send('bea', 'two');
    await caughtUp(pair);
    const before = await metrics();

    const reading = server.request<Snapshot>(SNAPSHOT, {}, 'bea');
    await until(replicaReading, (yes) => yes, 10_000, "the request's replica transaction");
    // As a conflict with an idle transaction, a restart or an operator does: the session ends,
    // with a statement in flight (57P01) or between two (no SQLSTATE: the connection is gone).
    await query(pair.standby.url('notify'), `SELECT pg_terminate_backend(pid) FROM (${READERS}) r`);
    const result = await reading;

    expect(result.errors, JSON.stringify(logged)).toBeUndefined();
    const snapshot = result.data!;
    const ids = snapshot.box.notifications.map(({ id }) => id);
    expect(ids.toSorted()).toEqual(await onPrimary('bea'));
    expect(ids).toHaveLength(2);
    expect(snapshot.unseenNotifications.map(({ id }) => id)).toEqual(ids);
    expect(snapshot.count).toBe(2);
    expect(snapshot.eventCursor).toBe(snapshot.box.cursor);
    const after = await metrics();
    expect(after.failures - before.failures).toBe(1);
  });
});
