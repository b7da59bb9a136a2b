import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freshProject, runApp, type FreshProject } from './helpers/fresh-project.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// What a frontend team does: `npm install` the packed tarball into an empty project and use it
// from plain Node ESM, with nothing of this repository around it.

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
let project: FreshProject | undefined;

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(async () => {
  await server.stop();
  await project?.remove();
});

it('packs into a tarball that installs into a fresh project and receives a notification', async () => {
  // `npm pack` builds it first (prepack), so the tarball has dist/ whatever the checkout holds.
  // ws: Node 20 has no global WebSocket. graphql-ws comes as the package's dependency.
  project = await freshProject(['client'], ['ws']);
  await project.write('app.js', APP);
  const installed = join(project.dir, 'node_modules/@notifications/client');
  expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
  expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
  expect(existsSync(join(installed, 'src')), 'sources are not shipped').toBe(false);

  const app = runApp(project, 'app.js', {
    INBOX_URL: server.url,
    INBOX_TOKEN: await server.token('fay'),
  });
  const { lines } = app;
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
      `a toast (${app.errors()})`,
    );
    expect(lines).toContainEqual({ toast: notification.id, title: 'from the tarball' });
    expect(lines).toContainEqual({ status: 'live', unseenCount: 1 });
    // The app closes its inbox on the toast; with nothing left open, Node exits by itself.
    expect(await app.exited, app.errors()).toBe(0);
  } finally {
    app.kill();
  }
}, 180_000);
