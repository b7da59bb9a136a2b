import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import {
  measureDatabaseLimit,
  memoryOf,
  startBaseline,
  startLoad,
  startPeer,
  startService,
  type Load,
  type ServiceProcess,
} from './processes.js';
import { addCpu, cpuPer, cpuSample, zeroCpu } from './cpu.js';
import { applyMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { partitioningTradeoff } from './partitioning.js';
import { scaleOut } from './scale-out.js';
import { sendRounds } from './send-rounds.js';
import {
  analyze,
  receiptsInsertMs,
  seedNotifications,
  seedPublicNotifications,
  seedTopic,
  SEEDED_USERS,
  withClient,
} from './seed.js';
import { API_KEY, SECRET, createBenchCategory, serviceEnv, users } from './service-setup.js';
import { formatResults, percentile, toMetric, type Metric, type MetricInput } from './report.js';

// npm run bench [-- --quick] [-- --sends | --scale-out | --partitioning]: the service in its
// own process, driven by a load generator in another, against real PostgreSQL and Redis; each
// figure beside, where one applies, what a bare `ws` server, a plain graphql-yoga + graphql-ws
// peer and the database alone achieve, all measured in the same run; then two instances on a
// Redis Cluster and a streaming replica (bench/scale-out.ts), and Notification and Receipt
// partitioned by time beside today's tables (bench/partitioning.ts). A full run writes
// bench/RESULTS.md; every run prints one JSON line last.

const quick = process.argv.includes('--quick');
/** Only the send figures and the database limit: for work on sends, on a shared machine. */
const sendsOnly = process.argv.includes('--sends');
/** Only the scale-out part (bench/scale-out.ts): its own Redis Cluster and streaming replica. */
const scaleOutOnly = process.argv.includes('--scale-out');
/** Only the partitioning comparison (bench/partitioning.ts). */
const partitioningOnly = process.argv.includes('--partitioning');
const SIZE = quick
  ? { sockets: 1000, seconds: 3, roundSeconds: 2, rows: 50_000, connectClients: 500, queries: 200 }
  : {
      sockets: 10_000,
      seconds: 10,
      roundSeconds: 10,
      rows: 1_000_000,
      connectClients: 2000,
      queries: 500,
    };
/** Public notifications stored when a user who never marked any seen connects. */
const PUBLIC_ROWS = 100_000;
/** Rounds of each figure that varies most from run to run (fan-out and sends/s). */
const ROUNDS = 3;
/** Connections the database limit sends on at once. */
const LIMIT_CONNECTIONS = 8;
const POSTGRES =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgresql://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const metrics: Metric[] = [];
/** The order of the results, whatever order they are measured in: the issue's goals table. */
const ORDER = [
  'fanout_10k',
  'memory_per_connection',
  'heap_per_connection',
  'sends_per_second',
  'latency_p99_at_1000',
  'batch_deliveries_per_second',
  'large_send_10k',
  'topic_send_100k',
  'latency_p99_at_200',
  'connects_per_second',
  'connect_p99',
  'unseen_p99_1m',
  'public_at_scale',
  'redis_added_p50',
  'scaleout_sends_per_second',
  'scaleout_fanout',
  'scaleout_redis_split',
  'scaleout_pg_split',
  'partitioned_reads',
  'partitioned_retention',
];
const record = (input: MetricInput) => {
  const metric = toMetric(input);
  metrics.push(metric);
  const references = (['baseline', 'peer', 'limit'] as const)
    .filter((reference) => metric[reference] !== undefined)
    .map((reference) => `${reference} ${metric[reference]}, ratio ${metric.ratios?.[reference]}`);
  console.error(
    `${metric.id}: ${metric.value} ${metric.unit}${references.length ? ` (${references.join('; ')})` : ''}`,
  );
};

const adminQuery = (sql: string) => withClient(POSTGRES, (client) => client.query(sql));

async function createDatabase() {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Where a fan-out is sent: the service's or the peer's API, or the baseline's broadcast. */
type FanOutTarget = { httpUrl: string; apiKey: string } | { baselineUrl: string };

/** ms from send to last receipt at every connected client, for each of ROUNDS public sends. */
async function fanOutRounds(load: Load, target: FanOutTarget, label: string) {
  const rounds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await load.call<{ ms: number; received: number }>('fanOut', {
      ...target,
      title: `${label}-${i}`,
      expected: SIZE.sockets,
      timeoutMs: 60_000,
    });
    if (result.received < SIZE.sockets) {
      throw new Error(`${label} fan-out reached ${result.received} of ${SIZE.sockets}`);
    }
    rounds.push(result.ms);
    await settle(1000);
  }
  console.error(
    `${label} fan-out to ${SIZE.sockets}: ${rounds.map((ms) => ms.toFixed(1)).join(', ')} ms`,
  );
  return rounds;
}

/** What each of SIZE.sockets idle subscribed connections adds: RSS, and heap after GC. */
async function memoryPerConnection(child: ChildProcess, connect: () => Promise<unknown>) {
  const before = await memoryOf(child);
  await connect();
  await settle(3000);
  const after = await memoryOf(child);
  return {
    rss: (after.rss - before.rss) / SIZE.sockets,
    heap: (after.heapUsed - before.heapUsed) / SIZE.sockets,
  };
}

const connectSubscribers = (load: Load, wsUrl: string) => () =>
  load.call('connect', { wsUrl, secret: SECRET, users: users(SIZE.sockets), concurrency: 100 });

/**
 * Connect + authenticate + subscribe + unseenNotifications, as many clients at once as a busy
 * reconnect wave would bring.
 */
async function connectWave(load: Load, service: ServiceProcess) {
  const before = cpuSample([service.child], load.child);
  const ramp = await load.call<{ durations: number[]; retries: number; seconds: number }>(
    'connect',
    {
      wsUrl: service.url.replace('http', 'ws'),
      secret: SECRET,
      users: users(SIZE.connectClients, 'c'),
      concurrency: 50,
    },
  );
  const cpu = cpuPer(
    'connect',
    SIZE.connectClients,
    addCpu(zeroCpu(), before, cpuSample([service.child], load.child)),
  );
  const retried = `${ramp.retries} attempts refused with 1013 (try again later) and retried`;
  record({
    id: 'connects_per_second',
    name: 'connect + authenticate + subscribe + unseenNotifications',
    unit: 'clients/s',
    value: SIZE.connectClients / ramp.seconds,
    digits: 0,
    goal: '≥ 1,000/s',
    note: [retried, cpu].filter(Boolean).join('; '),
  });
  record({
    id: 'connect_p99',
    name: 'connect + authenticate + subscribe + unseenNotifications p99',
    unit: 'ms',
    value: percentile(ramp.durations, 99),
    goal: '≤ 100 ms',
    note: `from the first attempt; ${retried}`,
  });
  await load.call('disconnect');
}

async function singleInstance(databaseUrl: string, load: Load) {
  const service = await startService(await serviceEnv(databaseUrl));
  await createBenchCategory(service);
  const wsUrl = service.url.replace('http', 'ws');
  await settle(1000);

  // Memory first, in a process no earlier connections have grown: the RSS they leave behind
  // is given back to the system later, or not, and would blur the figure.
  const memory = await memoryPerConnection(service.child, connectSubscribers(load, wsUrl));
  const fanOut = sendsOnly
    ? []
    : await fanOutRounds(load, { httpUrl: service.url, apiKey: API_KEY }, 'service');

  const sends = await sendRounds(load, {
    services: [service],
    users: users(SIZE.sockets),
    seconds: SIZE.roundSeconds,
    rounds: ROUNDS,
    prefix: 'tp',
  });
  await settle(1000);

  const latency = await load.call<{ sent: number; delivered: number; latencies: number[] }>(
    'privateSends',
    {
      httpUrl: service.url,
      apiKey: API_KEY,
      users: users(SIZE.sockets),
      seconds: SIZE.seconds,
      concurrency: 0,
      ratePerSecond: 1000,
      prefix: 'lat',
    },
  );
  record({
    id: 'latency_p99_at_1000',
    name: 'send-to-receive latency at 1,000 sends/s, p99',
    unit: 'ms',
    value: percentile(latency.latencies, 99),
    goal: '≤ 50 ms',
    note: `p50 ${round(percentile(latency.latencies, 50))} ms; ${latency.delivered} of ${latency.sent} delivered`,
  });
  await settle(1000);
  await batchDeliveries(load, service.url);
  await largeSends(load, service.url);
  await topicSends(load, service.url, databaseUrl);
  await load.call('disconnect');
  // The phases above put hours of traffic into minutes; a reconnect wave meets the tables as
  // maintenance leaves them (right after the bulk phases it measured a third of this: README).
  await analyze(databaseUrl);
  await settle(2000);
  if (!sendsOnly) await connectWave(load, service);
  await service.stop();
  return {
    fanOut,
    memory,
    sends: sends.perSecond,
    sendNotes: [...sends.notes, sends.cpu ?? []].flat(),
  };
}

/** Sends per sendNotifications call, and recipients per send, in the batch figure. */
const BATCH = { size: 200, recipients: 5 };
/** Recipients of the large send: SIZE.sockets of them online, the rest not. */
const LARGE_SEND_RECIPIENTS = 10_000;

async function batchDeliveries(load: Load, httpUrl: string) {
  const rounds: number[] = [];
  const notes: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await load.call<{
      stored: number;
      failed: number;
      seconds: number;
      received: number;
    }>('batchSends', {
      httpUrl,
      apiKey: API_KEY,
      users: users(SIZE.sockets),
      seconds: SIZE.roundSeconds,
      concurrency: 4,
      batchSize: BATCH.size,
      recipientsPerSend: BATCH.recipients,
      prefix: `batch${i}`,
    });
    rounds.push(result.stored / result.seconds);
    notes.push(`${result.received}/${result.stored} live, ${result.failed} failed`);
    await settle(1000);
  }
  record({
    id: 'batch_deliveries_per_second',
    name: `recipient deliveries through sendNotifications (${BATCH.size} sends of ${BATCH.recipients} online recipients per call), sustained`,
    unit: 'deliveries/s',
    value: rounds,
    digits: 0,
    goal: '≥ 20,000/s',
    note: `${notes.join('; ')}; 4 callers at once`,
  });
}

async function largeSends(load: Load, httpUrl: string) {
  const rounds: number[] = [];
  const answered: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await load.call<{ answeredMs: number; ms: number; received: number }>(
      'largeSend',
      {
        httpUrl,
        apiKey: API_KEY,
        recipients: users(LARGE_SEND_RECIPIENTS),
        title: `large-${i}`,
        expected: SIZE.sockets,
        timeoutMs: 30_000,
      },
    );
    if (result.received < SIZE.sockets) {
      throw new Error(`large send reached ${result.received} of ${SIZE.sockets} online`);
    }
    rounds.push(result.ms);
    answered.push(result.answeredMs);
    await settle(1000);
  }
  record({
    id: 'large_send_10k',
    name: `a send to ${LARGE_SEND_RECIPIENTS.toLocaleString('en')} recipients: stored, and received by all ${SIZE.sockets.toLocaleString('en')} online`,
    unit: 'ms',
    value: rounds,
    goal: '≤ 1,000 ms',
    note: `answered (stored) after ${answered.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  });
}

/** Members of the topic sent to: SIZE.sockets of them online (the load's users), the rest not. */
const TOPIC_MEMBERS = 100_000;

async function topicSends(load: Load, httpUrl: string, databaseUrl: string) {
  await seedTopic(databaseUrl, 'bench-topic', users(SIZE.sockets), TOPIC_MEMBERS);
  const rounds: number[] = [];
  const answered: number[] = [];
  const limits: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await load.call<{ answeredMs: number; ms: number; received: number }>(
      'largeSend',
      {
        httpUrl,
        apiKey: API_KEY,
        topic: 'bench-topic',
        title: `topic-${i}`,
        expected: SIZE.sockets,
        timeoutMs: 60_000,
      },
    );
    if (result.received < SIZE.sockets) {
      throw new Error(`topic send reached ${result.received} of ${SIZE.sockets} online`);
    }
    rounds.push(result.ms);
    answered.push(result.answeredMs);
    await settle(1000);
    limits.push(await receiptsInsertMs(databaseUrl, 'bench-topic'));
  }
  record({
    id: 'topic_send_100k',
    name: `a send to a topic of ${TOPIC_MEMBERS.toLocaleString('en')} members: stored, and received by all ${SIZE.sockets.toLocaleString('en')} online`,
    unit: 'ms',
    value: rounds,
    limit: limits,
    goal: 'seconds',
    note: `answered (every member's receipt and event stored) after ${answered.map((ms) => ms.toFixed(0)).join(', ')} ms. Limit: PostgreSQL alone inserting the ${TOPIC_MEMBERS.toLocaleString('en')} receipts (INSERT ... SELECT from the members, no events)`,
  });
}

async function baseline(load: Load) {
  const server = await startBaseline();
  await settle(500);
  const memory = await memoryPerConnection(server.child, () =>
    load.call('connectBaseline', {
      wsUrl: `ws://127.0.0.1:${server.port}`,
      count: SIZE.sockets,
      concurrency: 100,
    }),
  );
  const fanOut = await fanOutRounds(
    load,
    { baselineUrl: `http://127.0.0.1:${server.port}/broadcast` },
    'baseline',
  );
  await load.call('disconnect');
  await server.stop();
  return { fanOut, memory };
}

async function peer(load: Load) {
  const server = await startPeer(SECRET, API_KEY);
  await settle(500);
  const url = `http://127.0.0.1:${server.port}/graphql`;
  const memory = await memoryPerConnection(
    server.child,
    connectSubscribers(load, url.replace('http', 'ws')),
  );
  const fanOut = await fanOutRounds(load, { httpUrl: url, apiKey: API_KEY }, 'peer');
  await load.call('disconnect');
  await server.stop();
  return { fanOut, memory };
}

async function unseenQueryLatency(databaseUrl: string) {
  await seedNotifications(databaseUrl, SIZE.rows);
  const service = await startService(await serviceEnv(databaseUrl));
  const { mintUserToken } = await import('../src/auth/user-tokens.js');
  const durations: number[] = [];
  for (let i = 0; i < SIZE.queries; i++) {
    const token = await mintUserToken(SECRET, `seed-${Math.floor(Math.random() * SEEDED_USERS)}`);
    const started = performance.now();
    const response = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ unseenNotifications { id title } }' }),
    });
    await response.json();
    durations.push(performance.now() - started);
  }
  await service.stop();
  record({
    id: 'unseen_p99_1m',
    name: `unseenNotifications with ${SIZE.rows.toLocaleString('en')} notifications, p99`,
    unit: 'ms',
    value: percentile(durations, 99),
    goal: '≤ 5 ms',
    note: `p50 ${round(percentile(durations, 50))} ms, over HTTP, sequential`,
  });
}

/**
 * What a client reads when it connects (count, first page, cursor: one snapshot) for users who
 * never marked anything seen, among PUBLIC_ROWS public notifications: each is unseen by them.
 */
async function publicAtScale() {
  const database = await createDatabase();
  const service = await startService(await serviceEnv(database.url));
  try {
    await seedPublicNotifications(database.url, PUBLIC_ROWS);
    const { mintUserToken } = await import('../src/auth/user-tokens.js');
    const durations: number[] = [];
    for (let i = 0; i < SIZE.queries; i++) {
      const token = await mintUserToken(SECRET, `newcomer-${i}`);
      const started = performance.now();
      const response = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: '{ unseenCount unseenNotifications { id title } eventCursor }',
        }),
      });
      const { data } = (await response.json()) as { data?: { unseenCount: number } };
      if (data?.unseenCount !== PUBLIC_ROWS) throw new Error(`unseenCount ${data?.unseenCount}`);
      durations.push(performance.now() - started);
    }
    record({
      id: 'public_at_scale',
      name: `connect snapshot (unseenCount, first page, eventCursor) of a user who never marked any seen, among ${PUBLIC_ROWS.toLocaleString('en')} public notifications, p99`,
      unit: 'ms',
      value: percentile(durations, 99),
      goal: '≤ 10 ms',
      note: `p50 ${round(percentile(durations, 50))} ms, over HTTP, sequential, a new user each time`,
    });
  } finally {
    await service.stop();
    await database.drop();
  }
}

/** Notification and Receipt partitioned by time beside today's tables (bench/partitioning.ts). */
async function partitioning() {
  const database = await createDatabase();
  try {
    await applyMigrations(database.url, createLogger('error'));
    await partitioningTradeoff({
      databaseUrl: database.url,
      rows: SIZE.rows,
      rounds: ROUNDS,
      record,
    });
  } finally {
    await database.drop();
  }
}

async function twoInstances(databaseUrl: string, load: Load) {
  const receivers = users(1000, 'r');
  // After the send phases and the database limit's rows: the tables as maintenance leaves them.
  await analyze(databaseUrl);
  const measure = async (sendTo: ServiceProcess, receiveOn: ServiceProcess, prefix: string) => {
    await load.call('connect', {
      wsUrl: receiveOn.url.replace('http', 'ws'),
      secret: SECRET,
      users: receivers,
      concurrency: 50,
    });
    await settle(1000);
    const result = await load.call<{ latencies: number[] }>('privateSends', {
      httpUrl: sendTo.url,
      apiKey: API_KEY,
      users: receivers,
      seconds: SIZE.seconds,
      concurrency: 0,
      ratePerSecond: 200,
      prefix,
    });
    await load.call('disconnect');
    return { p50: percentile(result.latencies, 50), p99: percentile(result.latencies, 99) };
  };
  const single = await startService(await serviceEnv(databaseUrl));
  await createBenchCategory(single);
  const oneInstance = await measure(single, single, 'one');
  await single.stop();
  const channel = {
    REDIS_URL: REDIS,
    REDIS_CHANNEL_PREFIX: `bench-${randomBytes(3).toString('hex')}:`,
  };
  const [a, b] = [
    await startService(await serviceEnv(databaseUrl, channel)),
    await startService(await serviceEnv(databaseUrl, channel)),
  ];
  const throughRedis = await measure(a, b, 'two');
  await Promise.all([a.stop(), b.stop()]);
  record({
    id: 'latency_p99_at_200',
    name: 'send-to-receive latency at 200 sends/s (a rate one instance sustains), p99',
    unit: 'ms',
    value: oneInstance.p99,
    goal: '',
    note: `p50 ${round(oneInstance.p50)} ms; 1,000 receivers`,
  });
  record({
    id: 'redis_added_p50',
    name: 'two instances through Redis: added latency, p50',
    unit: 'ms',
    value: throughRedis.p50 - oneInstance.p50,
    digits: 2,
    goal: '≤ 5 ms',
    note: `p50 ${round(oneInstance.p50, 2)} ms on one instance, ${round(throughRedis.p50, 2)} ms sent to one and received on the other (p99 ${round(throughRedis.p99)} ms); 200 sends/s`,
  });
}

/** Everything but the send figures: fan-out and memory beside the baseline and peer, and more. */
async function comparisons(
  databaseUrl: string,
  load: Load,
  service: Awaited<ReturnType<typeof singleInstance>>,
) {
  const bare = await baseline(load);
  const plain = await peer(load);
  record({
    id: 'fanout_10k',
    name: `public fan-out to ${SIZE.sockets.toLocaleString('en')} subscribed clients, send to last receipt`,
    unit: 'ms',
    value: service.fanOut,
    baseline: bare.fanOut,
    peer: plain.fanOut,
    goal: '≤ 2× bare ws and faster than the peer',
  });
  const kb = (bytes: number) => bytes / 1024;
  record({
    id: 'memory_per_connection',
    name: `memory (RSS) per idle subscribed connection at ${SIZE.sockets.toLocaleString('en')}`,
    unit: 'KB',
    value: kb(service.memory.rss),
    baseline: kb(bare.memory.rss),
    peer: kb(plain.memory.rss),
    goal: '≤ 20 KB and less than the peer',
  });
  record({
    id: 'heap_per_connection',
    name: `heap after GC per idle subscribed connection at ${SIZE.sockets.toLocaleString('en')}`,
    unit: 'KB',
    value: kb(service.memory.heap),
    baseline: kb(bare.memory.heap),
    peer: kb(plain.memory.heap),
    goal: '≤ 20 KB and less than the peer',
    note: 'JavaScript objects only: socket buffers and what the allocator keeps are in RSS',
  });
  await twoInstances(databaseUrl, load);
  await unseenQueryLatency(databaseUrl);
  await publicAtScale();
}

/** Every figure but the scale-out ones: on the machine's PostgreSQL and Redis. */
async function onThisMachinesServers(load: Load) {
  const database = await createDatabase();
  try {
    const service = await singleInstance(database.url, load);
    const limit = await measureDatabaseLimit({
      databaseUrl: database.url,
      connections: LIMIT_CONNECTIONS,
      seconds: SIZE.roundSeconds,
      rounds: ROUNDS,
      users: SIZE.sockets,
    });
    record({
      id: 'sends_per_second',
      name: 'private sends to online users (one recipient each, over HTTP), sustained',
      unit: 'sends/s',
      value: service.sends,
      limit,
      digits: 0,
      goal: '≥ 2,000/s and ≥ 70% of the database limit',
      note: `${service.sendNotes.join('; ')}. Limit: the service's category lookup and send statement through pg, ${LIMIT_CONNECTIONS} connections`,
    });
    if (!sendsOnly) await comparisons(database.url, load, service);
  } finally {
    await database.drop();
  }
}

async function main() {
  const started = Date.now();
  const load = await startLoad();
  try {
    if (!scaleOutOnly && !partitioningOnly) await onThisMachinesServers(load);
    if (!sendsOnly && !partitioningOnly) await scaleOut({ load, record, quick, rounds: ROUNDS });
    if (!sendsOnly && !scaleOutOnly) await partitioning();
  } finally {
    await load.stop();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  metrics.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  const results = formatResults({
    metrics,
    machine,
    quick,
    seconds: (Date.now() - started) / 1000,
  });
  // A quick or partial run is a check of the harness: it never replaces the recorded full run.
  if (quick || sendsOnly || scaleOutOnly || partitioningOnly) console.error(results);
  else await writeFile(new URL('./RESULTS.md', import.meta.url), results);
  console.log(JSON.stringify({ quick, machine, metrics }));
}

await main();
