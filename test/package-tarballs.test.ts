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

// What a frontend team does: `npm install` the packed tarballs of packages/ into an empty project
// and use them from plain Node ESM, with nothing of this repository around them; the React one
// also has its types checked by TypeScript in that project, and renders <Inbox /> (on the server)
// from a store following the real service.

const TSC = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

/** The client's app: prints each state change and each toast as a JSON line. */
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

/** The React app: prints the rendered page when live, then once a notification has arrived. */
const REACT_APP = `
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
const projects: FreshProject[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
});
afterAll(async () => {
  await server.stop();
  await Promise.all(projects.map((project) => project.remove()));
});

it('packs @notifications/client into a tarball that installs into a fresh project and receives a notification', async () => {
  // `npm pack` builds it first (prepack), so the tarball has dist/ whatever the checkout holds.
  // ws: Node 20 has no global WebSocket. graphql-ws comes as the package's dependency.
  const project = await freshProject(['client'], ['ws']);
  projects.push(project);
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

it('packs @notifications/react into a tarball that installs into a fresh project, type-checks there, and renders a live inbox', async () => {
  const project = await freshProject(
    ['client', 'react'],
    ['react@19', 'react-dom@19', '@types/react@19', 'ws'],
  );
  projects.push(project);
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

  await project.write('app.js', REACT_APP);
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
}, 400_000);
