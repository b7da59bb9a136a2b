import { hostname } from 'node:os';
import type { Database, Pool } from '../db/client.js';
import { createGroupCommit } from '../db/group-commit.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createKeyedQueue } from './keyed-queue.js';

// Steps 2 and 5 of the process, as records: each connection of a user (a graphql-ws socket or an
// SSE subscription) is a row, removed when it closes; an instance that stops heartbeating has its
// rows reaped by the others. Heartbeats and the reap cutoff are read from the database's clock,
// so an instance whose own clock is off is neither reaped nor reaps others early.

export class ConnectionLimitError extends DomainError {
  constructor(maxPerUser: number) {
    super('TOO_MANY_CONNECTIONS', `at most ${maxPerUser} connections per user`);
  }
}

export interface ConnectionRegistryOptions {
  database: Database;
  /** Where connects are recorded: every client connects, so past Prisma's engine. */
  pool: Pool;
  instanceId: string;
  maxPerUser: number;
  heartbeatSeconds: number;
  logger: Logger;
}

export interface ConnectionRegistry {
  /** Records the instance and starts its heartbeat. */
  start(): Promise<void>;
  /**
   * Records a connection, or throws ConnectionLimitError when the user has too many. Resolves
   * false, recording nothing, when `abandoned()` says so by the time its turn comes.
   */
  open(
    connectionId: string,
    userId: string,
    sessionId: string | undefined,
    abandoned?: () => boolean,
  ): Promise<boolean>;
  close(connectionId: string): Promise<void>;
  /** Stops the heartbeat and removes the instance with its connections. */
  stop(): Promise<void>;
}

/** Instances silent for this many heartbeats are taken for dead. */
const MISSED_HEARTBEATS = 3;
/** Records removed by one statement at most. */
const REMOVALS_PER_STATEMENT = 1000;

export function createConnectionRegistry(options: ConnectionRegistryOptions): ConnectionRegistry {
  const { database, pool, instanceId, maxPerUser, logger } = options;
  let timer: NodeJS.Timeout | undefined;

  // The connections open here, so the instance can record them again if it was reaped.
  const open = new Map<string, { userId: string; sessionId: string | null }>();
  let lastBeatFailed = false;
  const connects = createKeyedQueue();
  // Sockets close together (a network blip, clients moving off a draining instance, a deploy):
  // their records go a statement at a time for all of them, not one each, or thousands of
  // single deletes would hold the pool while the same clients come back to connect.
  const removals = createGroupCommit<string, undefined>({
    store: async (ids) => {
      await database.$executeRaw`DELETE FROM "Connection" WHERE id = ANY(${ids}::uuid[])`;
      return ids.map(() => undefined);
    },
    maxItems: REMOVALS_PER_STATEMENT,
    weight: () => 1,
    maxWeight: REMOVALS_PER_STATEMENT,
    concurrency: 1,
  });
  const pendingRemovals = new Set<Promise<unknown>>();

  /** Records the instance and its open connections again, after others reaped it. */
  const register = async () => {
    await database.$transaction([
      insertInstance(),
      database.connection.createMany({
        data: [...open].map(([id, { userId, sessionId }]) => ({
          id,
          userId,
          sessionId,
          instanceId,
        })),
      }),
    ]);
    logger.warn({ connections: open.size }, 'instance had been reaped; registered again');
  };

  const insertInstance = () =>
    database.$executeRaw`
      INSERT INTO "Instance" (id, hostname, "startedAt", "heartbeatAt")
      VALUES (${instanceId}::uuid, ${hostname()}, now(), now())`;

  const beat = async () => {
    try {
      const count = await database.$executeRaw`
        UPDATE "Instance" SET "heartbeatAt" = now() WHERE id = ${instanceId}::uuid`;
      if (count === 0) await register();
    } catch (error) {
      lastBeatFailed = true;
      throw error;
    }
    // Just back from a database outage, every other instance's heartbeat looks as stale as this
    // one's did: give them a round to beat before taking them for dead.
    if (lastBeatFailed) {
      lastBeatFailed = false;
      return;
    }
    const silentSeconds = MISSED_HEARTBEATS * options.heartbeatSeconds;
    const reaped = await database.$executeRaw`
      DELETE FROM "Instance" WHERE "heartbeatAt" < now() - ${silentSeconds} * interval '1 second'`;
    if (reaped > 0) logger.info({ instances: reaped }, 'reaped dead instances');
  };

  return {
    async start() {
      await insertInstance();
      await beat();
      timer = setInterval(() => {
        beat().catch((error: unknown) => logger.warn({ err: error }, 'heartbeat failed'));
      }, options.heartbeatSeconds * 1000);
      timer.unref();
    },

    async open(connectionId, userId, sessionId, abandoned = () => false) {
      // One connect per user at a time from here, so a flood of one user's attempts waits in
      // this process and holds one pooled connection, not the whole pool. The statement locks,
      // counts and inserts inside the server (see the open_connection migration): one round
      // trip, and the user's lock is never held across the network.
      const recorded = await connects.run(userId, async () => {
        // A socket that closed while queued needs no record: skip the round trip.
        if (abandoned()) return undefined;
        const { rows } = await pool.query<{ recorded: boolean }>({
          name: 'open-connection',
          text: 'SELECT open_connection($1::uuid, $2::text, $3::text, $4::uuid, $5::integer) AS recorded',
          values: [connectionId, userId, sessionId ?? null, instanceId, maxPerUser],
        });
        return rows[0]!.recorded;
      });
      if (recorded === undefined) return false;
      if (!recorded) {
        throw new ConnectionLimitError(maxPerUser);
      }
      open.set(connectionId, { userId, sessionId: sessionId ?? null });
      return true;
    },

    async close(connectionId) {
      open.delete(connectionId);
      const removal = removals.submit([connectionId]);
      pendingRemovals.add(removal);
      try {
        await removal;
      } finally {
        pendingRemovals.delete(removal);
      }
    },

    async stop() {
      clearInterval(timer);
      // The sockets a shutdown sent away are still being removed, in line behind each other:
      // done before this returns, not later against a closed pool.
      await Promise.allSettled(pendingRemovals);
      await database.instance.deleteMany({ where: { id: instanceId } });
    },
  };
}
