import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// What a frontend team does: `npm install` the packed tarball into an empty project and use it
// from plain Node ESM, with nothing of this repository around it.

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('../packages/client', import.meta.url));

/** The app in the fresh project: prints each state change and each toast as a JSON line. */
const APP = `
import { createInbox } from '@notifications/client';
import WebSocket from 'ws';

const inbox = createInbox({
  url: process.env.INBOX_URL,
  getToken: () => process.env.INBOX_TOKEN,
  webSocketImpl: WebSocket,
});
inbox.subscribe((state) =>
  console.log(JSON.stringify({ status: state.status, unseenCount: state.unseenCount })),
);
inbox.on('notification', async (notification) => {
  console.log(JSON.stringify({ toast: notification.id, title: notification.title }));
  await inbox.close();
});
`;

let server: TestServer;
let project: string;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  project = await mkdtemp(join(tmpdir(), 'inbox-consumer-'));
});
afterAll(async () => {
  await server.stop();
  await rm(project, { recursive: true, force: true });
});

it('packs into a tarball that installs into a fresh project and receives a notification', async () => {
  // `npm pack` builds it first (prepack), so the tarball has dist/ whatever the checkout holds.
  await run('npm', ['pack', '--pack-destination', project], { cwd: PACKAGE_DIR });
  const [tarball] = (await readdir(project)).filter((name) => name.endsWith('.tgz'));
  expect(tarball, 'the packed tarball').toBeDefined();
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await writeFile(join(project, 'app.js'), APP);
  // ws: Node 20 has no global WebSocket. graphql-ws comes as the package's dependency.
  await run('npm', ['install', '--no-audit', '--no-fund', `./${tarball}`, 'ws'], { cwd: project });
  const installed = join(project, 'node_modules/@notifications/client');
  expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
  expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
  expect(existsSync(join(installed, 'src')), 'sources are not shipped').toBe(false);

  const app = spawn(process.execPath, ['app.js'], {
    cwd: project,
    env: { ...process.env, INBOX_URL: server.url, INBOX_TOKEN: await server.token('fay') },
  });
  const lines: Record<string, unknown>[] = [];
  const errors: string[] = [];
  createInterface({ input: app.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  app.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => app.on('exit', resolve));
  try {
    await until(
      () => lines,
      (l) => l.some((x) => x.status === 'live'),
      20_000,
      'the app live',
    );
    const { notification } = await send(server, {
      category: 'info',
      recipientIds: ['fay'],
      title: 'from the tarball',
    });
    await until(
      () => lines,
      (l) => l.some((x) => x.toast),
      20_000,
      `a toast (${errors.join('')})`,
    );
    expect(lines).toContainEqual({ toast: notification.id, title: 'from the tarball' });
    expect(lines).toContainEqual({ status: 'live', unseenCount: 1 });
    // The app closes its inbox on the toast; with nothing left open, Node exits by itself.
    expect(await exited, errors.join('')).toBe(0);
  } finally {
    app.kill();
  }
}, 180_000);
