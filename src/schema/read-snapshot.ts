import type { Plugin } from 'graphql-yoga';
import type { Database, Queryable } from '../db/client.js';
import type { Context } from './context.js';

// A client's snapshot (list, count, cursor) must come from one moment however the request is
// written: the resolvers that read it share one REPEATABLE READ, read-only transaction per
// request, opened by the first of them and let go as soon as the execution is done: its commit
// runs beside the response being written, never waiting for the client to read it.

/** Rolled back (and its reads fail) if a request's execution holds it longer than this. */
const SNAPSHOT_TIMEOUT_MS = 5_000;

interface Snapshot {
  reader: Promise<Queryable>;
  release: () => void;
}

const snapshots = new WeakMap<object, Snapshot>();
const sources = new WeakMap<object, Promise<Database>>();

/**
 * The database this request's client reads come from, chosen once per request: with a replica,
 * the replica once it has replayed everything committed before the request began (so the client
 * never reads less than it was told), else the primary. History reads it outside the snapshot.
 */
export function readSource(context: Context): Promise<Database> {
  let source = sources.get(context);
  if (!source) {
    const { replica, database } = context.services;
    source = replica ? replica.choose() : Promise.resolve(database);
    sources.set(context, source);
  }
  return source;
}

/** The request's snapshot to read from, opened on first use. */
export function readSnapshot(context: Context): Promise<Queryable> {
  let snapshot = snapshots.get(context);
  if (!snapshot) {
    snapshot = open(context);
    snapshots.set(context, snapshot);
  }
  return snapshot.reader;
}

function open(context: Context): Snapshot {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const reader = new Promise<Queryable>((resolve, reject) => {
    readSource(context)
      .then((database) =>
        database.$transaction(
          async (tx) => {
            await tx.$executeRaw`SET TRANSACTION READ ONLY`;
            resolve(tx);
            await released;
          },
          // A burst of connecting clients may wait for a pooled connection longer than the 2 s
          // Prisma allows by default; the wait holds nothing.
          { isolationLevel: 'RepeatableRead', timeout: SNAPSHOT_TIMEOUT_MS, maxWait: 10_000 },
        ),
      )
      // A failure after the reads began reaches them as their own errors.
      .catch(reject);
  });
  return { reader, release };
}

/** Ends each request's snapshot when its execution is done, whatever happened. */
export const useReadSnapshots = (): Plugin => ({
  onExecute: ({ args }) => ({
    onExecuteDone: () => {
      const context = args.contextValue as object;
      snapshots.get(context)?.release();
      snapshots.delete(context);
      sources.delete(context);
    },
  }),
});
