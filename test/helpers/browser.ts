import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';

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
