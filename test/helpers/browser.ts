import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import type { CategoryInput } from '../../client/graphql.js';
import { upsertCategory } from './operations.js';
import { startTestServer, type TestServer } from './server.js';

/** Debian's chromium, as DESIGN.md says, unless CHROMIUM_PATH names another. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether there is a browser to run the browser tests in (a CHROMIUM_PATH to nothing: no). */
export function chromiumInstalled(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The one line a run without a browser prints (test/helpers/browser-setup.ts). */
export const NO_BROWSER_WARNING =
  `*** BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM_PATH}. ` +
  'Install one with `apt-get install chromium` (or set CHROMIUM_PATH) to run them. ***';

/** Playwright gives the browser a fresh profile each launch. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface StaticSite {
  /** http://127.0.0.1:<port> (an origin of its own, so the inbox calls the service cross-origin) */
  origin: string;
  close(): Promise<void>;
}

/** Builds examples/<name> with its own vite.config.ts into a temporary folder and serves it. */
export async function serveExample(name: 'inbox' | 'react-inbox'): Promise<StaticSite> {
  const root = fileURLToPath(new URL(`../../examples/${name}/`, import.meta.url));
  const outDir = await mkdtemp(path.join(os.tmpdir(), `${name}-`));
  await build({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    build: { outDir, emptyOutDir: true },
    logLevel: 'warn',
  });
  const site = await serveStatic(outDir);
  return {
    origin: site.origin,
    async close() {
      await site.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** The categories the reference inbox's tests send in: one of each priority, one to acknowledge. */
export const INBOX_CATEGORIES: CategoryInput[] = [
  { name: 'security', requireAck: true, priority: 'URGENT' },
  { name: 'billing', priority: 'HIGH' },
  { name: 'exports' },
  { name: 'maintenance', priority: 'LOW' },
];

/** An example app in Chromium against the real service, for the tests of one file. */
export interface ExampleInBrowser {
  site: StaticSite;
  /** The service, allowing the site's origin (CORS) as production would. */
  server: TestServer;
  browser: Browser;
  /** What the pages threw (and, with `consoleErrors`, logged as errors), each with its user. */
  pageErrors: string[];
  /** A browser profile of its own (its own SharedWorker, storage and sockets). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /**
   * Opens the app in `context` as `userId` and waits until it is live. Its query holds
   * `server` (the service's URL) and `token` (the user's) unless `query` gives them, and the
   * rest of `query`. `beforeLoad` is handed the page before it loads.
   */
  open(
    context: BrowserContext,
    userId: string,
    query?: Record<string, string>,
    options?: { beforeLoad?: (page: Page) => void; liveWithinMs?: number },
  ): Promise<Page>;
}

/**
 * examples/<name> built and served, the service and Chromium, started before the file's tests
 * (with `categories` created) and stopped after them, profiles first. Where there is no
 * Chromium it starts nothing: the browser tests skip themselves there (describe.skipIf).
 */
export function exampleInBrowserForTests(
  name: 'inbox' | 'react-inbox',
  options: { categories?: CategoryInput[]; consoleErrors?: boolean } = {},
): ExampleInBrowser {
  const contexts: BrowserContext[] = [];
  const example = {
    pageErrors: [] as string[],
    async newContext(contextOptions?: BrowserContextOptions) {
      const context = await example.browser.newContext(contextOptions);
      contexts.push(context);
      return context;
    },
    async open(context, userId, query = {}, openOptions = {}) {
      const page = await context.newPage();
      page.on('pageerror', (error) => example.pageErrors.push(`${userId}: ${error.message}`));
      if (options.consoleErrors) {
        page.on('console', (message) => {
          if (message.type() === 'error') example.pageErrors.push(`${userId}: ${message.text()}`);
        });
      }
      openOptions.beforeLoad?.(page);
      const params = new URLSearchParams({
        server: example.server.url,
        token: query.token ?? (await example.server.token(userId)),
        ...query,
      });
      await page.goto(`${example.site.origin}/?${params}`);
      await page
        .locator('body[data-status="live"]')
        .waitFor({ timeout: openOptions.liveWithinMs ?? 10_000 });
      return page;
    },
  } as ExampleInBrowser;
  beforeAll(async () => {
    if (!chromiumInstalled()) return;
    example.site = await serveExample(name);
    example.server = await startTestServer({ env: { CORS_ORIGINS: example.site.origin } });
    example.browser = await launchChromium();
    for (const category of options.categories ?? []) {
      await upsertCategory(example.server, category);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await example.browser?.close();
    await example.server?.stop();
    await example.site?.close();
  });
  return example;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

async function serveStatic(root: string): Promise<StaticSite> {
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://site');
    const file = path.join(root, pathname === '/' ? 'index.html' : path.normalize(pathname));
    if (!file.startsWith(root)) return void response.writeHead(403).end();
    readFile(file).then(
      (body) =>
        response
          .writeHead(200, {
            'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
          })
          .end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
