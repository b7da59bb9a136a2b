import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { run, serviceEnv } from './helpers/process.js';

const problemsOf = (environment: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(environment)}`);
};

/** Every refused value of every variable, the one table (each feature's defaults stay with it). */
const REFUSED: [name: string, value: string][] = [
  ['PORT', 'abc'],
  ['PORT', '65536'],
  ['PORT', '80.5'],
  ['NODE_ENV', 'staging'],
  ['LOG_LEVEL', 'loud'],
  ['DATABASE_URL', 'mysql://db.internal/notifications'],
  ['DATABASE_URL', 'not a url'],
  ['EMBEDDED_POSTGRES_PORT', '0'],
  ['REDIS_URL', 'http://cache.internal'],
  ['REDIS_CLUSTER_NODES', 'cache-1.internal'],
  ['REDIS_CLUSTER_NODES', 'redis://cache-1.internal:6379'],
  ['REDIS_CLUSTER_SHARDS', '0'],
  ['REDIS_CLUSTER_SHARDS', '5000'],
  ['JWT_SECRET', 'too-short'],
  ['JWT_JWKS_URL', 'ftp://idp.internal/jwks.json'],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector.internal:4317'],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
  ['SERVICE_API_KEYS', 'a-long-enough-key-0123,short'],
  ['MAX_CONNECTIONS_PER_USER', '0'],
  ['RETENTION_INTERVAL_SECONDS', 'soon'],
  ['SHUTDOWN_TIMEOUT_SECONDS', '-1'],
  // Query, body and socket limits.
  ['MAX_QUERY_DEPTH', '0'],
  ['MAX_QUERY_ALIASES', '-1'],
  ['MAX_QUERY_COST', 'lots'],
  ['MAX_QUERY_TOKENS', '1.5'],
  ['MAX_REQUEST_BYTES', '0'],
  ['WS_MAX_PAYLOAD_BYTES', '1MB'],
  ['WS_CONNECTION_INIT_TIMEOUT_MS', '0'],
  ['MAX_SUBSCRIPTIONS_PER_CONNECTION', '0'],
  // Production switches.
  ['GRAPHIQL', 'yes'],
  ['INTROSPECTION', '1'],
  ['CORS_ORIGINS', 'javascript:alert(1)'],
  ['CORS_ORIGINS', 'app.example'],
  // Rate limits.
  ['RATE_LIMIT_MUTATIONS_PER_USER', '-1'],
  ['RATE_LIMIT_MUTATIONS_PER_API_KEY', 'many'],
  ['RATE_LIMIT_MUTATIONS_WINDOW_SECONDS', '0'],
  ['RATE_LIMIT_CONNECTIONS_PER_IP', '2.5'],
  ['TRUST_PROXY_HOPS', '-1'],
];

describe('loadConfig', () => {
  it('gives every variable its default when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      HOST: '0.0.0.0',
      PORT: 4000,
      LOG_LEVEL: 'info',
      DATA_DIR: '.data',
      EMBEDDED_POSTGRES_PORT: 54329,
      SERVICE_API_KEYS: [],
      MAX_CONNECTIONS_PER_USER: 5,
      DEFAULT_DELETE_AFTER_SECONDS: 30 * 24 * 3600,
      RETENTION_INTERVAL_SECONDS: 60,
      INSTANCE_HEARTBEAT_SECONDS: 10,
      SHUTDOWN_TIMEOUT_SECONDS: 10,
    });
    // Unset: the embedded database, in-process pub/sub, and development secrets are used.
    expect([config.DATABASE_URL, config.REDIS_URL, config.JWT_SECRET, config.JWT_JWKS_URL]).toEqual(
      [undefined, undefined, undefined, undefined],
    );
  });

  it('parses numbers, lists and URLs from their strings, and takes empty ones as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      MAX_CONNECTIONS_PER_USER: '3',
      SERVICE_API_KEYS: ' first-key-0123456789 , second-key-0123456789 ,',
      DATABASE_URL: 'postgres://app@db.internal:5432/notifications',
      REDIS_URL: 'rediss://cache.internal:6380',
      JWT_SECRET: '',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      MAX_CONNECTIONS_PER_USER: 3,
      SERVICE_API_KEYS: ['first-key-0123456789', 'second-key-0123456789'],
      DATABASE_URL: 'postgres://app@db.internal:5432/notifications',
      REDIS_URL: 'rediss://cache.internal:6380',
      LOG_LEVEL: 'info',
    });
    expect(config.JWT_SECRET).toBeUndefined();
  });

  it.each(REFUSED)('refuses %s=%s with a ConfigError naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}(\\.\\d+)?: `));
  });

  it('takes a Redis Cluster as its seed nodes, and refuses it beside REDIS_URL', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'cache-1.internal:7000, 10.0.0.2:7001' });
    expect(config.REDIS).toEqual({
      clusterNodes: [
        { host: 'cache-1.internal', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
    });
    expect(config.REDIS_CLUSTER_SHARDS).toBe(16);
    expect(loadConfig({ REDIS_URL: 'redis://cache.internal' }).REDIS).toEqual({
      url: 'redis://cache.internal',
    });
    expect(
      problemsOf({ REDIS_URL: 'redis://cache.internal', REDIS_CLUSTER_NODES: 'cache-1:7000' }),
    ).toEqual([
      'REDIS_CLUSTER_NODES: set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), not both',
    ]);
  });

  it('names every wrong variable at once', () => {
    const problems = problemsOf({ PORT: 'abc', LOG_LEVEL: 'loud', JWT_SECRET: 'short' });
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'JWT_SECRET',
      'LOG_LEVEL',
      'PORT',
    ]);
  });

  it('requires a token verifier and a database URL in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' }).sort()).toEqual([
      'DATABASE_URL: DATABASE_URL is required when NODE_ENV=production',
      'JWT_SECRET: JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production',
    ]);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://app@db.internal/notifications',
        JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
      }).NODE_ENV,
    ).toBe('production');
  });
});

describe('the service started with a bad variable', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'config-test-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('exits with code 1, naming the variable on stderr, before touching anything', async () => {
    const exit = await run('npx', ['tsx', 'src/main.ts'], {
      env: serviceEnv({ PORT: 'abc', DATA_DIR: dataDir }),
      timeoutMs: 20_000,
    });

    expect(exit.signal).toBeNull(); // not killed by the timeout
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('Invalid configuration');
    expect(exit.stderr).toMatch(/PORT: /);
    expect(exit.stdout).not.toContain('listening');
    expect(await readdir(dataDir)).toEqual([]); // no dev secrets, no embedded database
  });
});
