import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { query } from './helpers/pg-query.js';
import { RedisProcess } from './helpers/redis-process.js';
import {
  asService,
  asUser,
  postGraphQL,
  startServiceProcess,
  userToken,
  type ServiceProcess,
} from './helpers/service-process.js';
import { startServiceProcesses } from './helpers/fault-setup.js';
import { until } from './helpers/wait.js';

// An instance killed with SIGKILL (no drain, no cleanup) while clients follow their
// notifications on it and a service's sends are in flight through both instances. Clients
// reconnect to the other instance and resume with their last cursor. Whatever the sender was told
// was stored must reach its recipient exactly once; a send cut off by the kill may or may not
// have been stored, and if it was, it must be delivered like any other.

const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);
const SENDERS = 8;
const KILL_AFTER_MS = 1500;
const SEND_FOR_MS = 3500;

const SEND = `mutation Send($input: SendNotificationInput!) {
  sendNotification(input: $input) { notification { id title } }
}`;
const FOLLOW = `subscription Follow($after: String) {
  myNotifications(after: $after) { type cursor notification { id title } }
}`;
type Event = {
  myNotifications: { type: string; cursor: string; notification: { id: string; title: string } };
};

let redis: RedisProcess;
let database: TestDatabase;
let a: ServiceProcess;
let b: ServiceProcess;

beforeAll(async () => {
  redis = await RedisProcess.start();
  database = await createTestDatabase();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    REDIS_CHANNEL_PREFIX: 'fault-sigkill:',
    INSTANCE_HEARTBEAT_SECONDS: '1',
    MAX_CONNECTIONS_PER_USER: '5',
  };
  [a, b] = (await startServiceProcesses(2, env)) as [ServiceProcess, ServiceProcess];
}, 120_000);

afterAll(async () => {
  await Promise.all(followers.map((follower) => follower.stop()));
  a?.kill();
  await a?.stop();
  await b?.stop();
  await redis?.stop();
  await database?.drop();
}, 60_000);

const sql = <T>(text: string, values: unknown[] = []) => query<T>(database.url, text, values);

/**
 * A user's app: follows myNotifications from a cursor; when its socket dies, connects to the
 * other instance (as a load balancer would send it there) and resumes from the last cursor it
 * received.
 */
class Follower {
  readonly received: { id: string; title: string; cursor: string }[] = [];
  readonly closeCodes: number[] = [];
  readonly servers: string[] = [];
  cursor = '';
  private client?: Client;
  private stopping = false;
  private reconnects = 0;

  constructor(readonly userId: string) {}

  async start(server: ServiceProcess, name: string) {
    const inbox = await postGraphQL<{ eventCursor: string }>(
      server.url,
      '{ eventCursor }',
      {},
      await asUser(this.userId),
    );
    this.cursor = inbox.data!.eventCursor;
    await this.follow(server, name);
  }

  private async follow(server: ServiceProcess, name: string) {
    const token = await userToken(this.userId);
    this.servers.push(name);
    await new Promise<void>((resolve, reject) => {
      const client = createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${token}` },
        on: {
          connected: () => resolve(),
          closed: (event) => {
            const { code } = event as { code: number };
            this.closeCodes.push(code);
            reject(new Error(`closed with ${code}`));
            if (!this.stopping && this.client === client) this.failOver();
          },
        },
        onNonLazyError: () => {},
      });
      this.client = client;
      client.subscribe<Event>(
        { query: FOLLOW, variables: { after: this.cursor } },
        {
          next: ({ data }) => {
            const { cursor, notification } = data!.myNotifications;
            this.received.push({ id: notification.id, title: notification.title, cursor });
            this.cursor = cursor;
          },
          error: () => {},
          complete: () => {},
        },
      );
    });
  }

  /** To B, from the last cursor; bounded, since B might still be starting to accept. */
  private failOver() {
    if (this.reconnects++ >= 10) return;
    setTimeout(() => {
      this.follow(b, 'B').catch(() => {});
    }, 50 * this.reconnects);
  }

  async stop() {
    this.stopping = true;
    await this.client?.dispose();
  }
}

const followers = USERS.map((userId) => new Follower(userId));

type Outcome =
  | { kind: 'acknowledged'; id: string }
  | { kind: 'graphql-error'; codes: unknown[]; status: number }
  | { kind: 'network-error'; message: string };
interface Send {
  n: number;
  title: string;
  recipient: string;
  target: 'A' | 'B';
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
}

/** One send over HTTP, and what its sender was told. */
async function postSend(url: string, input: Record<string, unknown>): Promise<Outcome> {
  try {
    const result = await postGraphQL<{ sendNotification: { notification: { id: string } } }>(
      url,
      SEND,
      { input: { category: 'info', ...input } },
      asService,
      AbortSignal.timeout(10_000),
    );
    return result.status === 200 && result.data?.sendNotification && !result.errors
      ? { kind: 'acknowledged', id: result.data.sendNotification.notification.id }
      : {
          kind: 'graphql-error',
          status: result.status,
          codes: (result.errors ?? []).map((error) => error.extensions?.code),
        };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'network-error', message: cause?.code ?? cause?.message ?? String(error) };
  }
}

async function sendOnce(n: number, target: 'A' | 'B', recipient: string): Promise<Send> {
  const title = `s${n}`;
  const startedAt = performance.now();
  const outcome = await postSend((target === 'A' ? a : b).url, {
    recipientIds: [recipient],
    title,
  });
  return { n, title, recipient, target, startedAt, endedAt: performance.now(), outcome };
}

describe('an instance killed with SIGKILL under load', () => {
  const sends: Send[] = [];
  let killedAt = 0;
  let reaping: Promise<number | undefined> = Promise.resolve(undefined);
  let instanceA = '';
  let instanceB = '';

  it('runs: followers on A, sends through B and A, A killed mid-flight, followers resume on B', async () => {
    await Promise.all(followers.map((follower) => follower.start(a, 'A')));
    const byInstance = await sql<{ instanceId: string; n: string }>(
      `SELECT "instanceId", count(*) AS n FROM "Connection" GROUP BY "instanceId"`,
    );
    expect(byInstance).toHaveLength(1);
    expect(Number(byInstance[0]!.n)).toBe(USERS.length);
    instanceA = byInstance[0]!.instanceId;
    const instances = await sql<{ id: string }>(`SELECT id FROM "Instance"`);
    expect(instances).toHaveLength(2);
    instanceB = instances.find((row) => row.id !== instanceA)!.id;

    let counter = 0;
    const started = performance.now();
    const worker = async (index: number) => {
      // One sender in four uses A, the rest B; bounded by time and by a count.
      for (let i = 0; i < 2000 && performance.now() - started < SEND_FOR_MS; i++) {
        const n = counter++;
        const target = (n + index) % 4 === 0 ? 'A' : 'B';
        sends.push(await sendOnce(n, target, USERS[n % USERS.length]!));
      }
    };
    const killer = (async () => {
      await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
      killedAt = performance.now();
      a.kill();
      await a.child.exited;
      // How long until B has reaped A's records (three missed heartbeats of 1 s, then a beat).
      reaping = until(
        () => sql<{ id: string }>(`SELECT id FROM "Instance"`),
        (rows) => rows.length === 1,
        15_000,
      ).then((rows) => (rows.length === 1 ? performance.now() - killedAt : undefined));
    })();
    await Promise.all([...Array.from({ length: SENDERS }, (_, i) => worker(i)), killer]);
    expect(a.alive()).toBe(false);
    expect((await a.child.exited).signal).toBe('SIGKILL');
  }, 30_000);

  it('delivers every acknowledged send to its recipient exactly once: 0 lost, 0 duplicated', async () => {
    const acknowledged = sends.filter((send) => send.outcome.kind === 'acknowledged');
    const idOf = (send: Send) => (send.outcome as { id: string }).id;
    const missing = () =>
      acknowledged.filter(
        (send) =>
          !followers
            .find((follower) => follower.userId === send.recipient)!
            .received.some((event) => event.id === idOf(send)),
      );
    const lost = await until(missing, (left) => left.length === 0, 20_000);
    // Anything late or repeated would have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const duplicated = followers.flatMap((follower) => {
      const ids = follower.received.map((event) => event.id);
      return ids.filter((id, index) => ids.indexOf(id) !== index);
    });
    const stats = summarise(sends, killedAt);
    console.info(
      'SIGKILL fault:',
      JSON.stringify({ ...stats, lost: lost.length, duplicated: duplicated.length }),
    );
    expect(lost.map((send) => send.title)).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(stats.acknowledged.A).toBeGreaterThan(0);
    expect(stats.acknowledged.afterKill).toBeGreaterThan(0);
    // B never failed a send: the kill of A did not disturb it.
    expect(
      sends.filter((send) => send.target === 'B' && send.outcome.kind !== 'acknowledged'),
    ).toEqual([]);
    // Sends to A failed only by the network (in flight at the kill, or refused after it).
    expect(
      sends.filter((send) => send.target === 'A' && send.outcome.kind === 'graphql-error'),
    ).toEqual([]);
    expect(
      sends.filter(
        (send) =>
          send.target === 'A' && send.outcome.kind === 'network-error' && send.endedAt < killedAt,
      ),
    ).toEqual([]);
  }, 30_000);

  it('delivers exactly what was stored: a send cut off by the kill is either absent or delivered', async () => {
    const stored = await sql<{ id: string; title: string; userId: string }>(
      `SELECT n.id, n.title, r."userId" FROM "Notification" n JOIN "Receipt" r ON r."notificationId" = n.id`,
    );
    const storedByTitle = new Map(stored.map((row) => [row.title, row]));
    const cutOff = sends.filter((send) => send.outcome.kind === 'network-error');
    const cutOffStored = cutOff.filter((send) => storedByTitle.has(send.title));
    console.info(
      'SIGKILL fault, sends cut off by the kill:',
      JSON.stringify({
        networkErrors: cutOff.length,
        inFlightAtKill: cutOff.filter((send) => send.startedAt <= killedAt).length,
        refusedAfterKill: cutOff.filter((send) => send.startedAt > killedAt).length,
        storedAnyway: cutOffStored.length,
        absent: cutOff.length - cutOffStored.length,
        errors: [...new Set(cutOff.map((send) => (send.outcome as { message: string }).message))],
      }),
    );
    // Every stored notification reached its recipient, and nothing else did.
    for (const follower of followers) {
      const expected = stored
        .filter((row) => row.userId === follower.userId)
        .map((row) => row.id)
        .sort();
      const got = follower.received.map((event) => event.id).sort();
      expect(got, follower.userId).toEqual(expected);
    }
    // And every acknowledged send was stored (sends to A refused after the kill were not).
    const acknowledged = sends.filter((send) => send.outcome.kind === 'acknowledged');
    expect(acknowledged.filter((send) => !storedByTitle.has(send.title))).toEqual([]);
    expect(
      cutOff.filter((send) => send.startedAt > killedAt + 100 && storedByTitle.has(send.title)),
    ).toEqual([]);
    expect(stored).toHaveLength(acknowledged.length + cutOffStored.length);
  });

  it("moved every follower to B, which reaped A's instance and connection records", async () => {
    for (const follower of followers) {
      expect(follower.servers.slice(0, 2), follower.userId).toEqual(['A', 'B']);
      // A died without a close frame: abnormal closure.
      expect(follower.closeCodes[0], follower.userId).toBe(1006);
    }
    const reapedAfterMs = await reaping;
    console.info('SIGKILL fault: A reaped', Math.round(reapedAfterMs ?? -1), 'ms after the kill');
    expect(reapedAfterMs).toBeDefined();
    expect(await sql<{ id: string }>(`SELECT id FROM "Instance"`)).toEqual([{ id: instanceB }]);
    const connections = await sql<{ instanceId: string; userId: string }>(
      `SELECT "instanceId", "userId" FROM "Connection" ORDER BY "userId"`,
    );
    expect(connections.filter((row) => row.instanceId === instanceA)).toEqual([]);
    expect(connections.map((row) => row.userId).sort()).toEqual([...USERS].sort());
    expect(new Set(connections.map((row) => row.instanceId))).toEqual(new Set([instanceB]));
  }, 20_000);
});

/**
 * The kill, made exact: a test transaction holds the head row of a user's stream, so a send's
 * statement waits inside PostgreSQL (the send's CTE locks that row); the service is killed while
 * it waits, and the row is released only once the user's app has resumed on B. Whatever the
 * database does with the orphaned statement (commit it or roll it back), the outcome must be one
 * of two: not stored and the sender got an error, or stored and delivered once. Never stored but
 * not delivered.
 */
describe('a send in flight inside the database when its instance is SIGKILLed', () => {
  const userId = 'held';
  const follower = new Follower(userId);
  let c: ServiceProcess;
  let holder: pg.Client;

  beforeAll(async () => {
    c = await startServiceProcess({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      REDIS_CHANNEL_PREFIX: 'fault-sigkill:',
      INSTANCE_HEARTBEAT_SECONDS: '1',
    });
    holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
  }, 120_000);
  afterAll(async () => {
    await follower.stop();
    await holder?.end();
    c?.kill();
    await c?.stop();
  }, 30_000);

  it('is either absent with an error to the sender, or stored and delivered exactly once', async () => {
    await follower.start(c, 'C');
    // The stream's head row exists, and the app is live on C.
    const warmUp = await sendTo(c, 'warm-up');
    expect(warmUp.kind).toBe('acknowledged');
    await untilTrue(() => follower.received.length === 1, 'the warm-up delivered on C', 10_000);

    await holder.query('BEGIN');
    await holder.query(`SELECT seq FROM "Stream" WHERE id = $1 FOR UPDATE`, [`user:${userId}`]);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
      .rows[0]!.pid;
    const cutOff = sendTo(c, 'cut-off');
    // The send's statement is in PostgreSQL, waiting for the row this test holds. (Asked on a
    // connection of its own: inside a transaction, pg_stat_activity stays as first read.)
    const waiting = await untilValue(
      async () =>
        (
          await sql<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND $1 = ANY(pg_blocking_pids(pid)) AND query LIKE '%INSERT INTO "IdempotencyKey"%'`,
            [holderPid],
          )
        )[0]?.pid,
      "the send's statement waiting on the held Stream row",
    );

    c.kill();
    expect((await c.child.exited).signal).toBe('SIGKILL');
    const sent = await cutOff;
    expect(sent.kind).toBe('network-error');
    // The app resumed on B from its last cursor before the row is released: the worst moment.
    await untilTrue(() => follower.servers.includes('B'), 'the app reconnected to B', 10_000);
    const live = await sendPublic('resumed on B');
    await untilTrue(
      () => follower.received.some((event) => event.id === live),
      'the app live on B',
      10_000,
    );

    await holder.query('ROLLBACK');
    // The orphaned statement ends one way or the other, and its backend goes with its client.
    await untilTrue(
      async () =>
        (await sql(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [waiting])).length === 0,
      "the killed instance's backend gone",
      10_000,
    );
    const stored = await sql<{ id: string }>(
      `SELECT id FROM "Notification" WHERE title = 'cut-off'`,
    );
    console.info('SIGKILL in flight:', JSON.stringify({ stored: stored.length === 1 }));
    if (stored.length === 1) {
      await untilTrue(
        () => follower.received.some((event) => event.id === stored[0]!.id),
        'the cut-off send, stored, delivered to its recipient',
        10_000,
      );
    }
    // Once: a marker sent now arrives right after it, nothing in between or repeated.
    const after = await sendTo(b, 'after');
    expect(after.kind).toBe('acknowledged');
    const afterId = (after as { id: string }).id;
    await untilTrue(
      () => follower.received.some((event) => event.id === afterId),
      'the marker delivered on B',
      10_000,
    );
    expect(follower.received.map((event) => event.title)).toEqual([
      'warm-up',
      'resumed on B',
      ...(stored.length === 1 ? ['cut-off'] : []),
      'after',
    ]);
  }, 90_000);

  const sendTo = (server: ServiceProcess, title: string) =>
    postSend(server.url, { recipientIds: [userId], title });

  async function sendPublic(title: string) {
    const outcome = await postSend(b.url, { public: true, title });
    expect(outcome.kind).toBe('acknowledged');
    return (outcome as { id: string }).id;
  }
});

/** Waits for `read` to give a value; fails saying what it waited for. */
async function untilValue<T>(
  read: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const value = await until(read, (v) => v !== undefined, timeoutMs);
  if (value === undefined) throw new Error(`waited ${timeoutMs} ms for ${what}`);
  return value;
}

async function untilTrue(read: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  await untilValue(async () => ((await read()) ? true : undefined), what, timeoutMs);
}

function summarise(sends: Send[], killedAt: number) {
  const count = (filter: (send: Send) => boolean) => sends.filter(filter).length;
  const acked = (send: Send) => send.outcome.kind === 'acknowledged';
  return {
    sends: sends.length,
    acknowledged: {
      total: count(acked),
      A: count((send) => acked(send) && send.target === 'A'),
      B: count((send) => acked(send) && send.target === 'B'),
      afterKill: count((send) => acked(send) && send.startedAt > killedAt),
    },
    networkErrors: count((send) => send.outcome.kind === 'network-error'),
    graphqlErrors: count((send) => send.outcome.kind === 'graphql-error'),
  };
}
