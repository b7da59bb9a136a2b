import { RedisCluster } from '../test/helpers/redis-cluster.js';
import { RedisProcess } from '../test/helpers/redis-process.js';
import { query } from '../test/helpers/pg-query.js';
import { caughtUp, startStreamingPair } from '../test/helpers/streaming-replica.js';
import { sleep } from '../test/helpers/wait.js';
import { connectionCeiling } from './connection-ceiling.js';
import { growth, postgresDatabase, redisNode, serviceReads } from './load-split.js';
import { startService, type Load, type ServiceProcess } from './processes.js';
import type { MetricInput, Parts } from './report.js';
import { SENDERS, sendRounds } from './send-rounds.js';
import { API_KEY, SECRET, createBenchCategory, serviceEnv, users } from './service-setup.js';
import { withTeardown } from './teardown.js';

// The scale-out part (npm run bench -- --scale-out): two instances of the service on a Redis
// Cluster of the bench's own (sharded pub/sub) and a PostgreSQL primary with a streaming replica
// (client reads), as the tests build them. It reports sends/s beside one instance on one Redis
// without a replica (same primary, same run), a public fan-out to as many connections as this
// machine holds, and how the load split over the Redis nodes and the two PostgreSQL servers.

/** A size from the environment (BENCH_SCALEOUT_*), else the default of a full or quick run. */
function sized(name: string, full: number, quick: number, isQuick: boolean): number {
  const set = process.env[`BENCH_SCALEOUT_${name}`];
  if (set === undefined || set === '') return isQuick ? quick : full;
  const value = Number(set);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`BENCH_SCALEOUT_${name}=${set}`);
  return value;
}

function scaleOutSize(quick: boolean) {
  return {
    /** Cluster masters, each with a replica. */
    masters: sized('MASTERS', 3, 3, quick),
    /** Clients the sends go to, spread over the instances. */
    receivers: sized('RECEIVERS', 1000, 200, quick),
    roundSeconds: sized('ROUND_SECONDS', 4, 2, quick),
    /** Fan-out connections asked for; unset in a full run: as many as the machine holds. */
    sockets: sized('SOCKETS', Infinity, 1000, quick),
    /** Time the fan-out's connections may take to open; those open by then are measured. */
    connectSeconds: sized('CONNECT_SECONDS', 40, 20, quick),
  };
}
type Size = ReturnType<typeof scaleOutSize>;

const INSTANCES = 2;

const wsUrl = (service: ServiceProcess) => service.url.replace('http', 'ws');

/** The values of promises that have all settled, or the first one's failure. */
function allFulfilled<T extends readonly unknown[]>(settled: {
  [K in keyof T]: PromiseSettledResult<T[K]>;
}): T {
  const failed = settled.find((one) => one.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((one) => (one as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Sends/s of each round, with `receivers` clients spread over `instances`. */
async function sendsOver(load: Load, instances: ServiceProcess[], size: Size, rounds: number) {
  const receivers = users(size.receivers, 'so');
  await load.call('connect', {
    wsUrl: instances.map(wsUrl),
    secret: SECRET,
    users: receivers,
    concurrency: 50,
  });
  await sleep(1000);
  const sent = await sendRounds(load, {
    services: instances,
    users: receivers,
    seconds: size.roundSeconds,
    rounds,
    prefix: `so${instances.length}-`,
  });
  await load.call('disconnect');
  return { perSecond: sent.perSecond, notes: [...sent.notes, sent.cpu ?? []].flat().join('; ') };
}

/** Connects as many clients over `instances` as the machine holds, then public sends to them. */
async function fanOutAcross(load: Load, instances: ServiceProcess[], size: Size, rounds: number) {
  const machine = await connectionCeiling(instances.length);
  const asked = Math.min(size.sockets, machine.ceiling);
  const wave = await load.call<{ connected: number; seconds: number; stoppedBy?: string }>(
    'connect',
    {
      wsUrl: instances.map(wsUrl),
      secret: SECRET,
      users: users(asked, 'sf'),
      concurrency: 100,
      withinSeconds: size.connectSeconds,
    },
  );
  console.error(
    `scale-out: ${wave.connected} of ${asked} connected in ${wave.seconds.toFixed(1)} s${wave.stoppedBy ? ` (stopped: ${wave.stoppedBy})` : ''}`,
  );
  await sleep(2000);
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Each instance sends in turn: the clients on the other one hear of it through the cluster.
    const result = await load.call<{ ms: number; received: number }>('fanOut', {
      httpUrl: instances[i % instances.length]!.url,
      apiKey: API_KEY,
      title: `scale-out-${i}`,
      expected: wave.connected,
      timeoutMs: 60_000,
    });
    if (result.received < wave.connected) {
      throw new Error(`scale-out fan-out reached ${result.received} of ${wave.connected}`);
    }
    ms.push(result.ms);
    await sleep(1000);
  }
  await load.call('disconnect');
  return { ms, asked, ...wave, ...machine };
}

/** Every counter the splits are read from, at one moment. */
async function loadCounters(
  redisPorts: number[],
  database: { primary: string; replica: string },
  instances: ServiceProcess[],
) {
  const nodes = await Promise.all(
    redisPorts.map(async (port) => ({ port, ...(await redisNode(port)) })),
  );
  return {
    redis: nodes,
    primary: await postgresDatabase(database.primary),
    replica: await postgresDatabase(database.replica),
    reads: await serviceReads(instances.map((instance) => instance.url)),
  };
}
type LoadCounters = Awaited<ReturnType<typeof loadCounters>>;

const share = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : NaN);
const thousands = (value: number) => value.toLocaleString('en');

function splits(before: LoadCounters, after: LoadCounters) {
  const redis: Parts = {};
  const published: number[] = [];
  for (const node of after.redis) {
    const earlier = before.redis.find((one) => one.port === node.port)!;
    const grown = growth(earlier.counters, node.counters);
    redis[`127.0.0.1:${node.port} ${node.role}`] = grown;
    if (node.role === 'master') published.push(grown.spublish!);
  }
  const reads = growth(before.reads, after.reads);
  return {
    redis,
    busiestMaster: share(
      Math.max(...published),
      published.reduce((a, b) => a + b, 0),
    ),
    masters: published.length,
    postgres: {
      primary: growth(before.primary, after.primary),
      replica: growth(before.replica, after.replica),
      'service reads': reads,
    } satisfies Parts,
    replicaReads: share(reads.replica!, reads.replica! + reads.primary!),
  };
}

export async function scaleOut(options: {
  load: Load;
  record: (metric: MetricInput) => void;
  quick: boolean;
  rounds: number;
}) {
  const { load, record, quick, rounds } = options;
  const size = scaleOutSize(quick);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  await withTeardown(async (teardown) => {
    console.error(
      `scale-out: a Redis Cluster of ${size.masters} masters (a replica each), one Redis, a PostgreSQL primary and its streaming replica`,
    );
    // Started at once; each joins the teardown as soon as it runs, even when another fails.
    const [cluster, pair, redis] = allFulfilled(
      await Promise.allSettled([
        RedisCluster.start(size.masters).then((one) => teardown.add(one, () => one.stop())),
        startStreamingPair().then((one) => teardown.add(one, () => one.remove())),
        RedisProcess.start().then((one) => teardown.add(one, () => one.stop())),
      ]),
    );
    await query(pair.primary.url(), 'CREATE DATABASE bench');
    await caughtUp(pair);
    const database = { primary: pair.primary.url('bench'), replica: pair.standby.url('bench') };
    console.error(`scale-out: servers up after ${elapsed()}`);
    const start = async (env: Record<string, string>) =>
      teardown.add(await startService(await serviceEnv(database.primary, env)), (service) =>
        service.stop(),
      );

    // The reference: one instance, one Redis, every read on the primary.
    const single = await start({ REDIS_URL: redis.url });
    await createBenchCategory(single);
    const one = await sendsOver(load, [single], size, rounds);
    await single.stop();
    console.error(`scale-out: one instance measured after ${elapsed()}`);

    const shared = {
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.seeds,
      DATABASE_REPLICA_URL: database.replica,
    };
    const instances = allFulfilled(
      await Promise.allSettled(Array.from({ length: INSTANCES }, () => start(shared))),
    );
    const redisPorts = cluster.nodes.map((node) => node.port);
    const before = await loadCounters(redisPorts, database, instances);
    const two = await sendsOver(load, instances, size, rounds);
    console.error(`scale-out: two instances' sends measured after ${elapsed()}`);
    const fanOut = await fanOutAcross(load, instances, size, rounds);
    // A PostgreSQL backend reports its statistics within a second of going idle.
    await sleep(1500);
    const split = splits(before, await loadCounters(redisPorts, database, instances));
    console.error(`scale-out: fan-out measured after ${elapsed()}`);

    const setting = `${size.receivers} receivers spread over the instances, ${SENDERS} senders alternating between them, on one PostgreSQL primary`;
    record({
      id: 'scaleout_sends_per_second',
      name: `private sends to online users through ${INSTANCES} instances on a Redis Cluster, client reads on a streaming replica, sustained`,
      unit: 'sends/s',
      value: two.perSecond,
      baseline: one.perSecond,
      digits: 0,
      goal: 'above one instance',
      note: `${two.notes}. Baseline: one instance on one Redis, no replica (${one.notes}). ${setting}`,
    });
    record({
      id: 'scaleout_fanout',
      name: `public fan-out to ${thousands(fanOut.connected)} subscribed clients over ${INSTANCES} instances, send to last receipt`,
      unit: 'ms',
      value: fanOut.ms,
      goal: '',
      note: `${thousands(fanOut.connected)} of ${thousands(fanOut.asked)} asked held (this machine's ceiling ${thousands(fanOut.ceiling)}: the load generator's ${thousands(fanOut.openFiles)} open files, ${thousands(fanOut.localPorts)} local ports), connected in ${fanOut.seconds.toFixed(1)} s${fanOut.stoppedBy ? `, stopped: ${fanOut.stoppedBy}` : ''}; each instance sends in turn, half the clients hear it through the cluster`,
    });
    record({
      id: 'scaleout_redis_split',
      name: `sharded publishes on the busiest of ${split.masters} Redis Cluster masters, share`,
      unit: '%',
      value: split.busiestMaster,
      goal: `≈ ${(100 / split.masters).toFixed(0)}% (an even split)`,
      note: 'per node, the growth of INFO stats (commands) and commandstats (SPUBLISH) over the two instances’ sends and fan-out',
      parts: split.redis,
    });
    record({
      id: 'scaleout_pg_split',
      name: 'client snapshot reads served by the streaming replica, share',
      unit: '%',
      value: split.replicaReads,
      goal: '',
      note: 'per server, the growth of pg_stat_database over the two instances’ sends and fan-out (the replica also answers each read’s replay-position check); service reads: the instances’ notifications_replica_reads_total by target and _fallbacks_total by reason',
      parts: split.postgres,
    });
  });
  console.error(`scale-out: all it started stopped after ${elapsed()}`);
}
