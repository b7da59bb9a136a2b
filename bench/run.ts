import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import pg from 'pg';
import {
  freePort,
  rssOf,
  startBaseline,
  startLoad,
  startService,
  type ServiceProcess,
} from './processes.js';
import { seedNotifications } from './seed.js';
import { formatResults, percentile, type Metric } from './report.js';

// npm run bench [-- --quick]: the service in its own process, driven by a load generator in
// another, against real PostgreSQL and Redis; each figure beside a bare `ws` baseline measured
// in the same run where one applies. Writes bench/RESULTS.md and prints one JSON line last.

const quick = process.argv.includes('--quick');
const SIZE = quick
  ? { sockets: 1000, seconds: 3, rows: 50_000, connectClients: 500, queries: 200 }
  : { sockets: 10_000, seconds: 10, rows: 1_000_000, connectClients: 2000, queries: 500 };
const POSTGRES =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgresql://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = randomBytes(32).toString('hex');
const API_KEY = `bench-${randomBytes(12).toString('hex')}`;

const metrics: Metric[] = [];
const record = (metric: Metric) => {
  metrics.push(metric);
  console.error(
    `${metric.name}: ${metric.value}${metric.baseline ? ` (baseline ${metric.baseline}, ratio ${metric.ratio})` : ''}`,
  );
};

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

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
const users = (count: number, prefix = 'u') =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

async function serviceEnv(databaseUrl: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: databaseUrl,
    JWT_SECRET: SECRET,
    SERVICE_API_KEYS: API_KEY,
    MAX_CONNECTIONS_PER_USER: '1000',
    // One address, one API key and one user per socket at full speed: rate limits would measure
    // themselves, not the service.
    RATE_LIMIT_CONNECTIONS_PER_IP: '0',
    RATE_LIMIT_CONNECTIONS_PER_USER: '0',
    RATE_LIMIT_MUTATIONS_PER_API_KEY: '0',
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    ...extra,
  };
}

async function createBenchCategory(service: ServiceProcess) {
  const { mintUserToken } = await import('../src/auth/user-tokens.js');
  const token = await mintUserToken(SECRET, 'bench-admin', { admin: true });
  await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'mutation { upsertCategory(input: { name: "bench" }) { name } }',
    }),
  });
}

async function singleInstance(databaseUrl: string, load: Awaited<ReturnType<typeof startLoad>>) {
  const service = await startService(await serviceEnv(databaseUrl));
  await createBenchCategory(service);
  const wsUrl = service.url.replace('http', 'ws');
  await settle(1000);
  const idleRss = await rssOf(service.child.pid!);

  // Connect + authenticate + subscribe + unseenNotifications, as many clients at once as a
  // busy reconnect wave would bring.
  const ramp = await load.call<{ durations: number[]; seconds: number }>('connect', {
    wsUrl,
    secret: SECRET,
    users: users(SIZE.connectClients, 'c'),
    concurrency: 50,
  });
  record({
    name: 'connect + authenticate + subscribe + unseenNotifications',
    unit: 'clients/s',
    value: round(SIZE.connectClients / ramp.seconds, 0),
    goal: '≥ 500/s',
  });
  record({
    name: 'connect + authenticate + subscribe + unseenNotifications p99',
    unit: 'ms',
    value: round(percentile(ramp.durations, 99)),
    goal: '≤ 100 ms',
  });
  await load.call('disconnect');
  await settle(2000);

  const base = await rssOf(service.child.pid!);
  await load.call('connect', {
    wsUrl,
    secret: SECRET,
    users: users(SIZE.sockets),
    concurrency: 100,
  });
  await settle(3000);
  const perConnection = ((await rssOf(service.child.pid!)) - base) / SIZE.sockets;

  const fanOuts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const result = await load.call<{ ms: number; received: number }>('fanOut', {
      httpUrl: service.url,
      apiKey: API_KEY,
      title: `fan-${i}`,
      expected: SIZE.sockets,
      timeoutMs: 60_000,
    });
    if (result.received < SIZE.sockets)
      throw new Error(`fan-out reached ${result.received} of ${SIZE.sockets}`);
    fanOuts.push(result.ms);
    await settle(1000);
  }

  console.error(`fan-out to ${SIZE.sockets}: ${fanOuts.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  const throughput = await load.call<{
    sent: number;
    failed: number;
    seconds: number;
    delivered: number;
  }>('privateSends', {
    httpUrl: service.url,
    apiKey: API_KEY,
    users: users(SIZE.sockets),
    seconds: SIZE.seconds,
    concurrency: 64,
    prefix: 'tp',
  });
  record({
    name: 'private sends to online users, sustained',
    unit: 'sends/s',
    value: round((throughput.sent - throughput.failed) / throughput.seconds, 0),
    goal: '≥ 2,000/s',
    note: `${throughput.delivered} of ${throughput.sent} delivered live, ${throughput.failed} failed`,
  });
  await settle(2000);

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
    name: 'send-to-receive latency at 1,000 sends/s, p99',
    unit: 'ms',
    value: round(percentile(latency.latencies, 99)),
    goal: '≤ 50 ms',
    note: `p50 ${round(percentile(latency.latencies, 50))} ms; ${latency.delivered} of ${latency.sent} delivered`,
  });
  await load.call('disconnect');
  await service.stop();
  return { fanOutMs: median(fanOuts), perConnection, idleRss };
}

async function baseline(load: Awaited<ReturnType<typeof startLoad>>) {
  const server = await startBaseline();
  await settle(500);
  const base = await rssOf(server.child.pid!);
  await load.call('connectBaseline', {
    wsUrl: `ws://127.0.0.1:${server.port}`,
    count: SIZE.sockets,
    concurrency: 100,
  });
  await settle(3000);
  const perConnection = ((await rssOf(server.child.pid!)) - base) / SIZE.sockets;
  const fanOuts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const result = await load.call<{ ms: number; received: number }>('fanOut', {
      baselineUrl: `http://127.0.0.1:${server.port}/broadcast`,
      title: `base-${i}`,
      expected: SIZE.sockets,
      timeoutMs: 60_000,
    });
    fanOuts.push(result.ms);
    await settle(500);
  }
  await load.call('disconnect');
  await server.stop();
  return { fanOutMs: median(fanOuts), perConnection };
}

async function unseenQueryLatency(databaseUrl: string) {
  await seedNotifications(databaseUrl, SIZE.rows);
  const service = await startService(await serviceEnv(databaseUrl));
  const { mintUserToken } = await import('../src/auth/user-tokens.js');
  const durations: number[] = [];
  for (let i = 0; i < SIZE.queries; i++) {
    const token = await mintUserToken(SECRET, `seed-${Math.floor(Math.random() * 10_000)}`);
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
    name: `unseenNotifications with ${SIZE.rows.toLocaleString('en')} notifications, p99`,
    unit: 'ms',
    value: round(percentile(durations, 99)),
    goal: '≤ 10 ms',
    note: `p50 ${round(percentile(durations, 50))} ms, over HTTP, sequential`,
  });
}

async function twoInstances(databaseUrl: string, load: Awaited<ReturnType<typeof startLoad>>) {
  const receivers = users(1000, 'r');
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
    name: 'send-to-receive latency at 200 sends/s (a rate one instance sustains), p99',
    unit: 'ms',
    value: round(oneInstance.p99),
    goal: '',
    note: `p50 ${round(oneInstance.p50)} ms; 1,000 receivers`,
  });
  record({
    name: 'two instances through Redis: added latency, p50',
    unit: 'ms',
    value: round(throughRedis.p50 - oneInstance.p50, 2),
    goal: '≤ 5 ms',
    note: `p50 ${round(oneInstance.p50, 2)} ms on one instance, ${round(throughRedis.p50, 2)} ms sent to one and received on the other (p99 ${round(throughRedis.p99)} ms); 200 sends/s`,
  });
}

async function main() {
  const started = Date.now();
  const load = await startLoad();
  const database = await createDatabase();
  try {
    const service = await singleInstance(database.url, load);
    const bare = await baseline(load);
    record({
      name: `public fan-out to ${SIZE.sockets.toLocaleString('en')} subscribed clients, send to last receipt`,
      unit: 'ms',
      value: round(service.fanOutMs),
      baseline: round(bare.fanOutMs),
      ratio: round(service.fanOutMs / bare.fanOutMs, 2),
      goal: '≤ 2× baseline',
    });
    record({
      name: `memory per idle subscribed connection at ${SIZE.sockets.toLocaleString('en')}`,
      unit: 'KB',
      value: round(service.perConnection / 1024),
      baseline: round(bare.perConnection / 1024),
      ratio: round(service.perConnection / bare.perConnection, 2),
      goal: '≤ 30 KB and ≤ 2× baseline',
    });
    await twoInstances(database.url, load);
    await unseenQueryLatency(database.url);
  } finally {
    await load.stop();
    await database.drop();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  await writeFile(
    new URL('./RESULTS.md', import.meta.url),
    formatResults({ metrics, machine, quick, seconds: (Date.now() - started) / 1000 }),
  );
  console.log(JSON.stringify({ quick, machine, metrics }));
}

await main();
