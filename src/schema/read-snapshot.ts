import { getOperationAST, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { inTransaction, type ReadTarget } from '../db/client.js';
import { isDatabaseUnavailable, SERIALIZATION_FAILURE, sqlStateOf } from '../db/postgres-errors.js';
import { pgReader, type SqlReader } from '../db/sql-reader.js';
import { within } from '../within.js';
import type { Context } from './context.js';

// A client's snapshot (list, count, cursor) must come from one moment however the request is
// written: the resolvers that read it share one REPEATABLE READ, read-only transaction per
// request, opened by the first of them and let go as soon as the execution is done: its commit
// runs beside the response being written, never waiting for the client to read it. Every
// client connects with this read, so it runs on node-postgres directly: the transaction's modes
// are set by its BEGIN, and no statement pays for Prisma's engine.

/** Rolled back (and its reads fail) if a request's execution holds it longer than this. */
const SNAPSHOT_TIMEOUT_MS = 5_000;

interface Snapshot {
  reader: Promise<SqlReader>;
  release: () => void;
}

const snapshots = new WeakMap<object, Snapshot>();
const sources = new WeakMap<object, Promise<ReadTarget>>();

/**
 * The database this request's client reads come from, chosen once per request: with a replica,
 * the replica once it has replayed everything committed before the request began (so the client
 * never reads less than it was told), else the primary. History reads it outside the snapshot.
 */
export function readSource(context: Context): Promise<ReadTarget> {
  let source = sources.get(context);
  if (!source) {
    const { replica, database, pool } = context.services;
    source = replica ? replica.choose() : Promise.resolve({ database, pool });
    sources.set(context, source);
  }
  return source;
}

/** The request's snapshot to read from, opened on first use. */
export function readSnapshot(context: Context): Promise<SqlReader> {
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
  const reader = new Promise<SqlReader>((resolve, reject) => {
    readSource(context)
      .then(({ pool }) =>
        inTransaction(
          pool,
          async (client) => {
            let ended = false;
            const reader = pgReader(client);
            // The request's resolvers read at once; a client runs one statement at a time
            // (node-postgres queues the rest for now, and pg@9 refuses them): one after another.
            let previous: Promise<unknown> = Promise.resolve();
            // Once the transaction ends, its client goes back to the pool: a late read must
            // not run on it, in someone else's transaction.
            resolve({
              $queryRaw: <T>(
                query: Parameters<SqlReader['$queryRaw']>[0],
                ...values: unknown[]
              ) => {
                const read = previous.then(() =>
                  ended
                    ? Promise.reject(new Error('the snapshot of this request has ended'))
                    : reader.$queryRaw<T>(query, ...values),
                );
                previous = read.catch(() => undefined);
                return read;
              },
            });
            const expired = await within(
              released.then(() => false),
              SNAPSHOT_TIMEOUT_MS,
              true,
            );
            ended = true;
            if (expired) throw new Error(`snapshot held past ${SNAPSHOT_TIMEOUT_MS} ms`);
          },
          'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY',
        ),
      )
      // A failure after the reads began reaches them as their own errors.
      .catch(reject);
  });
  return { reader, release };
}

/**
 * Ends each request's snapshot when its execution is done, whatever happened. A query whose
 * replica reads failed (cancelled by a recovery conflict, or their session or connection gone)
 * runs again, whole, on the primary: its answer stays one snapshot, never earlier replica
 * results beside later primary ones. Mutations and subscriptions never run twice.
 */
export const useReadSnapshots = (): Plugin<Context> => ({
  onExecute: ({ args, executeFn, setExecuteFn }) => {
    const context = args.contextValue as Context;
    if (getOperationAST(args.document, args.operationName)?.operation === 'query') {
      setExecuteFn(async (execution) => {
        const result = await executeFn(execution);
        const { replica, pool } = context.services;
        const source = sources.get(context);
        if (!replica || !source || (await source).pool === pool) return result;
        const failure = replicaFailure(result.errors ?? []);
        if (!failure) return result;
        end(context);
        sources.set(context, Promise.resolve(replica.primaryAfter(failure)));
        return executeFn(execution);
      });
    }
    return { onExecuteDone: () => end(context) };
  },
});

function end(context: Context) {
  snapshots.get(context)?.release();
  snapshots.delete(context);
  sources.delete(context);
}

/**
 * Why the replica failed the request's reads, if it did: a recovery conflict (only a standby
 * fails a read-only read so: WAL replay could not wait for it), or its session or connection
 * ended, which a conflict with an idle transaction, a restart or the network does, and which
 * between two statements carries no SQLSTATE at all.
 */
function replicaFailure(errors: readonly GraphQLError[]) {
  const causes = errors.map((error) => error.originalError);
  if (causes.some((cause) => sqlStateOf(cause) === SERIALIZATION_FAILURE)) return 'conflict';
  if (causes.some(isDatabaseUnavailable)) return 'failed';
  return undefined;
}
