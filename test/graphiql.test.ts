import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, launchChromium } from './helpers/browser.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, TEST_API_KEY, type TestServer } from './helpers/server.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';

// GraphiQL as a developer meets it: opened in Chromium from the service itself, on a machine that
// reaches nothing but the service. Every script, style, font and worker must come from the page.

const SCREENSHOT = fileURLToPath(new URL('artifacts/graphiql.png', import.meta.url));
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const QUERY_EDITOR = '.graphiql-query-editor .monaco-editor';
const HEADERS_EDITOR = '.monaco-editor[data-uri$="request-headers.json"]';
const poll = { timeout: 15_000, interval: 100 };

let browser: Browser;

/** A fresh profile that records every address it asks for and every policy violation. */
async function openGraphiQL(url: string) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const requested: string[] = [];
  const problems: string[] = [];
  context.on('request', (request) => requested.push(request.url()));
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`),
    ),
  );
  const page = await context.newPage();
  page.on('websocket', (socket) => requested.push(socket.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  const response = await page.goto(url);
  // The editors are up once the query editor takes input.
  await page
    .locator(QUERY_EDITOR)
    .waitFor({ timeout: 20_000 })
    .catch((error: Error) => {
      throw new Error(
        `GraphiQL's editor did not appear (${error.message.split('\n')[0]}); ` +
          `requests off this machine: ${JSON.stringify(remote(requested))}; ${problems.join('; ')}`,
      );
    });
  return { context, page, response: response!, requested, problems };
}

/** The options the page hands GraphiQL: the JSON after the root element, at the page's end. */
async function graphiqlOptions(url: string) {
  const html = await (await fetch(url, { headers: { accept: 'text/html' } })).text();
  const start = html.lastIndexOf("querySelector('#root'),") + "querySelector('#root'),".length;
  const json = html
    .slice(start, html.indexOf('</script>', start))
    .trim()
    .replace(/,\s*\);$/, '');
  return JSON.parse(json) as { defaultTabs: { query: string; headers?: string }[] };
}

/** Addresses outside this machine: a CDN, a font service, anything. */
const remote = (urls: string[]) =>
  urls.filter((url) => {
    const { protocol, hostname } = new URL(url);
    return !['data:', 'blob:'].includes(protocol) && !LOCAL_HOSTS.has(hostname);
  });

/**
 * Replaces the text of a Monaco editor as a user does: click, select all, paste. (Typed, the
 * editor would close each bracket and quote a second time.)
 */
async function replaceEditorText(page: Page, editor: string, text: string) {
  await page.evaluate((value) => navigator.clipboard.writeText(value), text);
  await page.locator(editor).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('ControlOrMeta+V');
}

/**
 * Switches to GraphiQL's tab `index` and waits until its editor shows `operation`, as a person
 * waits before running it. In headless Chromium GraphiQL sometimes lets a first click on a tab
 * pass, so, as a person would, this clicks again until the tab is shown.
 */
async function showTab(page: Page, index: number, operation: string) {
  await expect
    .poll(async () => {
      await page.locator('.graphiql-tab').nth(index).click();
      return editorText(page, QUERY_EDITOR);
    }, poll)
    .toContain(operation);
}

/** What an editor shows, with Monaco's non-breaking spaces as the spaces they stand for. */
const editorText = async (page: Page, editor: string) =>
  (await page.locator(editor).innerText()).replaceAll('\u00a0', ' ');
const resultText = (page: Page) => editorText(page, '.graphiql-response');

beforeAll(async () => {
  if (chromiumInstalled()) browser = await launchChromium();
});
afterAll(() => browser?.close());

describe.skipIf(!chromiumInstalled())('GraphiQL in Chromium', () => {
  let server: TestServer;
  let context: BrowserContext | undefined;
  beforeAll(async () => {
    server = await startTestServer();
    await upsertCategory(server, { name: 'security', requireAck: true, priority: 'URGENT' });
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await server?.stop();
  });

  it('runs myNotifications with an inline after, shows a replayed and a live event, and asks nothing of the internet', async () => {
    const opened = await openGraphiQL(server.url);
    context = opened.context;
    const { page, response, requested, problems } = opened;

    // The policy names nothing outside the service: no CDN could be allowed to serve a script.
    const policy = response.headers()['content-security-policy'];
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(policy).not.toMatch(/https?:|\*|unsafe-eval|script-src[^;]*unsafe-inline/);
    expect(await page.title()).toBe('Notifications');

    const { data } = await server.request<{ eventCursor: string }>('{ eventCursor }', {}, 'grace');
    const cursor = data!.eventCursor;
    // Sent before GraphiQL subscribes: only the inline `after` brings it back.
    await send(server, { category: 'security', recipientIds: ['grace'], title: 'While away' });

    await replaceEditorText(
      page,
      QUERY_EDITOR,
      `subscription Live {
  myNotifications(after: "${cursor}") {
    type
    cursor
    notification {
      title
    }
  }
}`,
    );
    await page.getByRole('button', { name: 'Headers' }).click();
    await replaceEditorText(
      page,
      HEADERS_EDITOR,
      JSON.stringify({ authorization: `Bearer ${await server.token('grace')}` }),
    );
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => resultText(page), poll).toContain('While away');

    // Now live: the next send arrives on the open subscription.
    await send(server, { category: 'security', recipientIds: ['grace'], title: 'New sign-in' });
    await expect.poll(() => resultText(page), poll).toContain('New sign-in');
    expect(await resultText(page)).toContain('"type": "CREATED"');

    await mkdir(new URL('artifacts/', import.meta.url), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    expect(requested.some((url) => url.startsWith('ws://'))).toBe(true);
    expect(remote(requested)).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});

describe.skipIf(!chromiumInstalled())('GraphiQL of `npm start` in development', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startServiceProcess({ NODE_ENV: 'development', DATABASE_URL: database.url });
  }, 90_000);
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it("opens on the README's operations with the printed token and key in their headers, and runs them as the README says", async () => {
    const [, authorization] = await service.child.waitForOutput(
      /^ {2}\{"authorization": "([^"]+)"\}$/m,
    );
    const { defaultTabs } = await graphiqlOptions(service.url);
    expect(defaultTabs.map((tab) => tab.headers && JSON.parse(tab.headers))).toEqual([
      { authorization },
      { authorization },
      { 'x-api-key': TEST_API_KEY },
    ]);
    const { context, page, requested, problems } = await openGraphiQL(service.url);
    try {
      const tabs = page.locator('.graphiql-tab');
      await expect.poll(() => tabs.count(), poll).toBe(3);

      // The first tab, as it opens: the category upsert, signed in as the printed dev user.
      await page.getByRole('button', { name: 'Headers' }).click();
      await expect
        .poll(() => editorText(page, HEADERS_EDITOR), poll)
        .toContain(authorization!.slice(-20));
      await page.locator('.graphiql-execute-button').click();
      await expect.poll(() => resultText(page), poll).toContain('"name": "security"');

      // The second tab subscribes, and stays on screen.
      await showTab(page, 1, 'myNotifications');
      await page.locator('.graphiql-execute-button').click();
      await expect
        .poll(() => requested.filter((url) => url.startsWith('ws://')).length, poll)
        .toBeGreaterThan(0);

      // The third tab, in a second browser tab of the same address, sends with the printed key.
      const sender = await context.newPage();
      sender.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await sender.goto(service.url);
      await sender.locator(QUERY_EDITOR).waitFor({ timeout: 20_000 });
      await showTab(sender, 2, 'sendNotification(');
      await expect.poll(() => editorText(sender, HEADERS_EDITOR), poll).toContain(TEST_API_KEY);
      await sender.locator('.graphiql-execute-button').click();
      await expect.poll(() => resultText(sender), poll).toContain('"sendNotification"');
      expect(await resultText(sender)).not.toContain('"errors"');

      // The first browser tab shows the notification arrive.
      await expect.poll(() => resultText(page), poll).toContain('"type": "CREATED"');
      expect(await resultText(page)).toContain('New sign-in');

      expect(remote(requested)).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe('the GraphiQL page outside development', () => {
  it('carries the README operations and no credentials', async () => {
    const server = await startTestServer();
    try {
      const { defaultTabs } = await graphiqlOptions(server.url);
      expect(
        defaultTabs.map(
          (tab) => /(upsertCategory|myNotifications|sendNotification)/.exec(tab.query)?.[1],
        ),
      ).toEqual(['upsertCategory', 'myNotifications', 'sendNotification']);
      expect(defaultTabs.map((tab) => tab.headers)).toEqual([undefined, undefined, undefined]);
    } finally {
      await server.stop();
    }
  });
});
