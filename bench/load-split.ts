import { Redis } from 'ioredis';
import { query } from '../test/helpers/pg-query.js';
import { metricValue } from '../test/helpers/raw-socket.js';

// Where the load of a run went, as counters read before and after it: each Redis node's commands
// and sharded publishes, each PostgreSQL server's transactions and rows, and where the service
// itself says it sent its client reads.

export type Counters = Record<string, number>;

/** `after - before`, counter by counter. */
export const growth = (before: Counters, after: Counters): Counters =>
  Object.fromEntries(
    Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]),
  );

/** A Redis node's role and counters: INFO stats and INFO commandstats. */
export async function redisNode(port: number): Promise<{ role: string; counters: Counters }> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('everything');
    const field = (pattern: RegExp) => pattern.exec(info)?.[1];
    return {
      // INFO still says `slave`.
      role: field(/^role:(\w+)/m) === 'master' ? 'master' : 'replica',
      counters: {
        commands: Number(field(/^total_commands_processed:(\d+)/m) ?? 0),
        spublish: Number(field(/^cmdstat_spublish:calls=(\d+)/m) ?? 0),
      },
    };
  } finally {
    redis.disconnect();
  }
}

/** One database's transactions and rows read on one PostgreSQL server (pg_stat_database). */
export async function postgresDatabase(url: string): Promise<Counters> {
  const [row] = await query<{ xact_commit: string; tup_returned: string; tup_fetched: string }>(
    url,
    `SELECT xact_commit, tup_returned, tup_fetched FROM pg_stat_database
      WHERE datname = current_database()`,
  );
  return {
    xact_commit: Number(row!.xact_commit),
    tup_returned: Number(row!.tup_returned),
    tup_fetched: Number(row!.tup_fetched),
  };
}

/**
 * Where the service's instances sent client snapshot reads, and why not the replica when they
 * did not: their own counters on /metrics, summed.
 */
export async function serviceReads(graphqlUrls: string[]): Promise<Counters> {
  const total: Counters = { replica: 0, primary: 0, lagging: 0, failed: 0, conflict: 0 };
  for (const url of graphqlUrls) {
    const text = await (await fetch(new URL('/metrics', url))).text();
    const read = (series: string) => metricValue(text, series) ?? 0;
    total.replica! += read('notifications_replica_reads_total{target="replica"}');
    total.primary! += read('notifications_replica_reads_total{target="primary"}');
    total.lagging! += read('notifications_replica_fallbacks_total{reason="lagging"}');
    total.failed! += read('notifications_replica_fallbacks_total{reason="failed"}');
    total.conflict! += read('notifications_replica_fallbacks_total{reason="conflict"}');
  }
  return total;
}
