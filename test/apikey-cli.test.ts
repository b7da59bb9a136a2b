import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { run, serviceEnv } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// The command-line tools a developer or operator runs, as `npx tsx scripts/...`, against a
// server that shares their database or secret.

const VIEWER = '{ viewer { kind id admin } }';

describe('scripts/apikey.ts', () => {
  let database: TestDatabase;
  let server: TestServer | undefined;
  const apikey = (...args: string[]) =>
    run('npx', ['tsx', 'scripts/apikey.ts', ...args], {
      env: serviceEnv({ DATABASE_URL: database.url }),
    });

  beforeAll(async () => {
    database = await createTestDatabase(); // empty: the script migrates it
  });
  afterAll(async () => {
    await server?.stop();
    await database.drop();
  });

  it('creates a key that authenticates as that service until it is revoked', async () => {
    const created = await apikey('create', 'billing');
    expect(created.code, created.stderr).toBe(0);
    const [, key] = /^(nsk_\S+)$/m.exec(created.stdout) ?? [];
    expect(key, created.stdout).toBeDefined();
    expect(created.stdout).toContain('API key "billing"');

    server = await startTestServer({ database });
    expect(await server.request(VIEWER, {}, { apiKey: key! })).toMatchObject({
      status: 200,
      data: { viewer: { kind: 'SERVICE', id: 'billing', admin: false } },
    });

    const revoked = await apikey('revoke', 'billing');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('API key "billing" revoked');

    const refused = await server.request(VIEWER, {}, { apiKey: key! });
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  }, 60_000);

  it('exits with 1 when asked to revoke a name that has no active key', async () => {
    const revoked = await apikey('revoke', 'no-such-service');
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('no active API key named "no-such-service"');
  });

  it('exits with 2 and the usage for an unknown command', async () => {
    const wrong = await apikey('rotate', 'billing');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('usage:');
  });
});

describe('scripts/token.ts', () => {
  const secret = 'a-shared-secret-for-the-token-script-test';
  let server: TestServer;
  let dataDir: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { JWT_SECRET: secret } });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'token-test-'));
  });
  afterAll(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints a JWT the server takes as the named user, admin with --admin', async () => {
    const minted = await run('npx', ['tsx', 'scripts/token.ts', 'alice', '--admin'], {
      env: serviceEnv({ JWT_SECRET: secret, DATA_DIR: dataDir }),
    });
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);

    expect(
      await server.request(VIEWER, {}, { headers: { authorization: `Bearer ${token}` } }),
    ).toMatchObject({ status: 200, data: { viewer: { kind: 'USER', id: 'alice', admin: true } } });
  });

  it('prints a token that another secret does not verify', async () => {
    const minted = await run('npx', ['tsx', 'scripts/token.ts', 'alice'], {
      env: serviceEnv({ JWT_SECRET: 'some-other-secret-that-is-long-enough', DATA_DIR: dataDir }),
    });
    expect(minted.code, minted.stderr).toBe(0);
    const refused = await server.request(
      VIEWER,
      {},
      { headers: { authorization: `Bearer ${minted.stdout.trim()}` } },
    );
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
