import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freshProject, runApp, type FreshProject } from './helpers/fresh-project.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// @notifications/react as a frontend team gets it: both packed tarballs installed into an empty
// project with react from the registry; its types checked by TypeScript in that project, and
// <Inbox /> rendered (on the server, in Node) from a store following the real service.

const TSC = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

/** Prints the rendered page when live, then again once a notification has arrived. */
const APP = `
import { createInbox } from '@notifications/client';
import { Inbox, InboxProvider } from '@notifications/react';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import WebSocket from 'ws';

const inbox = createInbox({
  url: process.env.INBOX_URL,
  getToken: () => process.env.INBOX_TOKEN,
  webSocketImpl: WebSocket,
});
const page = () =>
  renderToString(
    h(InboxProvider, { inbox }, h(Inbox, { defaultOpen: true, strings: { empty: 'Nothing yet' } })),
  );
const stop = inbox.subscribe((state) => {
  if (state.status !== 'live') return;
  stop();
  console.log(JSON.stringify({ live: page() }));
});
inbox.on('notification', async () => {
  console.log(JSON.stringify({ arrived: page() }));
  await inbox.close();
});
`;

/** What a TypeScript app writes; the @ts-expect-error lines must be refused. */
const TYPED_APP = `
import { createInbox, type Notification } from '@notifications/client';
import {
  Inbox,
  InboxProvider,
  useInbox,
  useNotifications,
  usePreferences,
  useUnseenCount,
} from '@notifications/react';

const inbox = createInbox({ url: 'https://notifications.example/graphql', getToken: () => 't' });

function Header() {
  const unseen: number = useUnseenCount();
  const urgent: Notification[] = useNotifications({ priority: 'URGENT', unseen: true });
  const status = useInbox((state) => state.status);
  const { preferences, setMuted } = usePreferences();
  // @ts-expect-error not a priority
  useNotifications({ priority: 'SEVERE' });
  return (
    <p onClick={() => void setMuted('marketing', true)}>
      {unseen} {urgent.length} {status} {preferences?.map((p) => p.category)}
    </p>
  );
}

export const app = (
  <InboxProvider inbox={inbox}>
    <Header />
    <Inbox theme="dark" strings={{ markAllSeen: 'Tout lu', status: { reconnecting: '…' } }} />
    {/* @ts-expect-error not a theme */}
    <Inbox theme="blue" />
  </InboxProvider>
);
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    jsx: 'react-jsx',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    lib: ['ES2023', 'DOM'],
    types: [],
  },
  include: ['app.tsx'],
};

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

it('installs from its tarball into a fresh project, type-checks there, and renders a live inbox', async () => {
  project = await freshProject(
    ['client', 'react'],
    ['react@19', 'react-dom@19', '@types/react@19', 'ws'],
  );
  const installed = join(project.dir, 'node_modules/@notifications/react');
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'theme.css']) {
    expect(existsSync(join(installed, file)), file).toBe(true);
  }
  expect(existsSync(join(installed, 'src')), 'sources are not shipped').toBe(false);

  await project.write('app.tsx', TYPED_APP);
  await project.write('tsconfig.json', JSON.stringify(TSCONFIG));
  const checked = await promisify(execFile)(TSC, ['-p', project.dir]).catch(
    (error: { stdout: string }) => error,
  );
  expect(checked.stdout, 'tsc in the fresh project').toBe('');

  await project.write('app.js', APP);
  const app = runApp(project, 'app.js', {
    INBOX_URL: server.url,
    INBOX_TOKEN: await server.token('gus'),
  });
  try {
    await until(
      () => app.lines,
      (l) => l.length > 0,
      20_000,
      'the app live',
    );
    const live = String(app.lines[0]?.live);
    expect(live).toContain('Nothing yet');
    expect(live).not.toContain('ni-badge');
    await send(server, { category: 'info', recipientIds: ['gus'], title: 'from the tarball' });
    await until(
      () => app.lines,
      (l) => l.length > 1,
      20_000,
      `a render (${app.errors()})`,
    );
    const arrived = String(app.lines[1]?.arrived);
    expect(arrived).toContain('from the tarball');
    expect(arrived).toMatch(/<span class="ni-badge" aria-hidden="true">1<\/span>/);
    expect(arrived).toContain('aria-label="Notifications, 1 unseen"');
    expect(await app.exited, app.errors()).toBe(0);
  } finally {
    app.kill();
  }
}, 240_000);
