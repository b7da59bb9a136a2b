import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { UnseenCountDocument } from '../client/graphql.js';
import { chromiumInstalled, exampleInBrowserForTests } from './helpers/browser.js';
import { ok, send } from './helpers/operations.js';

// The React example (examples/react-inbox: @notifications/react's hooks and <Inbox />), built with
// Vite and run in Debian's Chromium against the real service.

const SCREENSHOTS = fileURLToPath(new URL('artifacts/', import.meta.url));

const example = exampleInBrowserForTests('react-inbox', {
  categories: [{ name: 'exports' }, { name: 'security', requireAck: true, priority: 'URGENT' }],
  consoleErrors: true,
});
const { pageErrors } = example;
const poll = { timeout: 10_000, interval: 50 };

async function openPage(
  userId: string,
  options: { colorScheme?: 'light' | 'dark'; context?: BrowserContext } = {},
) {
  const context =
    options.context ??
    (await example.newContext({
      viewport: { width: 900, height: 700 },
      colorScheme: options.colorScheme ?? 'light',
    }));
  return { context, page: await example.open(context, userId) };
}

/** The badge as the user reads it: '' when there is none (nothing unseen). */
const badge = async (page: Page) => {
  const element = page.locator('.ni-badge');
  return (await element.count()) === 0 ? '' : ((await element.textContent()) ?? '');
};
const titles = (page: Page) => page.locator('.ni-item .ni-item-title').allTextContents();
const serverUnseenCount = async (userId: string) =>
  (await ok(example.server, UnseenCountDocument, {}, userId)).unseenCount;
const sendTo = (userId: string, title: string, category = 'exports') =>
  send(example.server, { category, recipientIds: [userId], title });
/** graphql-ws connections the service has on record for the user: one per socket. */
const sockets = (userId: string) =>
  example.server.app.services.database.connection.count({ where: { userId } });
const socketIds = async (userId: string) =>
  (
    await example.server.app.services.database.connection.findMany({
      where: { userId },
      select: { id: true },
    })
  ).map((connection) => connection.id);
const background = (page: Page, selector: string) =>
  page.locator(selector).evaluate((element) => getComputedStyle(element).backgroundColor);

describe.skipIf(!chromiumInstalled())('the React inbox in Chromium', () => {
  it('shows a live notification, moves the count, and marks seen what the open panel shows', async () => {
    const { page } = await openPage('rita');
    expect(await badge(page)).toBe('');
    expect(await page.locator('.ni-bell').getAttribute('aria-label')).toBe('Notifications');

    await sendTo('rita', 'Your export is ready');
    await expect.poll(() => badge(page), poll).toBe('1');
    await sendTo('rita', 'Another export is ready');
    await expect.poll(() => badge(page), poll).toBe('2');
    expect(await page.title()).toBe('(2) Acme');
    expect(await page.locator('.ni-bell').getAttribute('aria-label')).toBe(
      'Notifications, 2 unseen',
    );

    await page.locator('.ni-bell').click();
    // The app's own words (strings=) replace the defaults.
    expect(await page.locator('.ni-title').textContent()).toBe('Your notifications');
    // Open, the cards on screen are marked seen: the service's count, then the badge, go to 0.
    await expect.poll(() => serverUnseenCount('rita'), poll).toBe(0);
    await expect.poll(() => badge(page), poll).toBe('');
    expect(await titles(page)).toEqual(['Another export is ready', 'Your export is ready']);
    await expect.poll(() => page.locator('.ni-item[data-unseen]').count(), poll).toBe(0);
    expect(await page.title()).toBe('Acme');

    // A new one while the panel is open is shown, counted, and seen in turn.
    await sendTo('rita', 'A third export');
    await expect.poll(() => titles(page), poll).toContain('A third export');
    await expect.poll(() => serverUnseenCount('rita'), poll).toBe(0);
    await expect.poll(() => badge(page), poll).toBe('');
  });

  it('keeps a require-ack notification in the banner (useNotifications) until acknowledged', async () => {
    const { page } = await openPage('sami');
    await sendTo('sami', 'New sign-in from Firefox', 'security');
    await sendTo('sami', 'Your export is ready');
    const banner = page.locator('.must-ack strong');
    await expect.poll(() => banner.allTextContents(), poll).toEqual(['New sign-in from Firefox']);
    await expect.poll(() => badge(page), poll).toBe('2');

    await page.locator('.must-ack button').click();
    await expect.poll(() => banner.count(), poll).toBe(0);
    await expect.poll(() => badge(page), poll).toBe('1');
    expect(await serverUnseenCount('sami')).toBe(1);
  });

  it('mutes a category from usePreferences; a require-ack one cannot be muted', async () => {
    const { page } = await openPage('tara');
    const exportsBox = page.locator('.preferences input[name="exports"]');
    await exportsBox.waitFor();
    expect(await exportsBox.isChecked()).toBe(true);
    expect(await page.locator('.preferences input[name="security"]').isDisabled()).toBe(true);

    await exportsBox.uncheck();
    await expect.poll(() => exportsBox.isChecked(), poll).toBe(false);
    // The box shows the choice at once; the service has it when its answer comes.
    const stored = async () =>
      (
        await example.server.request<{
          categoryPreferences: { category: string; muted: boolean }[];
        }>('{ categoryPreferences { category muted } }', {}, 'tara')
      ).data?.categoryPreferences;
    await expect.poll(stored, poll).toEqual([{ category: 'exports', muted: true }]);
    // Muted: not delivered live and not counted.
    await sendTo('tara', 'muted export');
    await sendTo('tara', 'Password changed', 'security');
    await expect.poll(() => badge(page), poll).toBe('1');
  });

  it('follows prefers-color-scheme: light by default, dark when the system is dark', async () => {
    // Two users: opening the panel in one page marks seen what the other would show.
    const light = await openPage('uma', { colorScheme: 'light' });
    const dark = await openPage('vic', { colorScheme: 'dark' });
    await send(example.server, {
      category: 'exports',
      recipientIds: ['uma', 'vic'],
      title: 'Your export is ready',
      body: 'projects-2024.csv (2.4 MB)',
      actionUrl: '/exports/42',
    });
    await mkdir(SCREENSHOTS, { recursive: true });
    for (const [{ page }, scheme] of [
      [light, 'light'],
      [dark, 'dark'],
    ] as const) {
      await expect.poll(() => badge(page), poll).toBe('1');
      await page.locator('.ni-bell').click();
      await page.locator('.ni-item').first().waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}react-inbox-${scheme}.png` });
    }
    expect(await background(light.page, '.ni-panel')).toBe('rgb(255, 255, 255)');
    expect(await background(dark.page, '.ni-panel')).toBe('rgb(13, 17, 23)');
    expect(await dark.page.locator('.ni-inbox').getAttribute('data-theme')).toBe('auto');
  }, 60_000);

  it('shares one socket between the tabs of a browser, and another tab takes over when it goes', async () => {
    const { context, page: first } = await openPage('wes');
    const { page: second } = await openPage('wes', { context });
    await expect.poll(() => sockets('wes'), poll).toBe(1);
    const [socketBefore] = await socketIds('wes');

    await sendTo('wes', 'To every tab');
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('1');
    // Seen in the tab without the socket: its action goes through the tab that has it.
    await second.bringToFront();
    await second.locator('.ni-bell').click();
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('');
    expect(await serverUnseenCount('wes')).toBe(0);

    await first.close();
    await expect
      .poll(async () => (await socketIds('wes'))[0] ?? socketBefore, poll)
      .not.toBe(socketBefore);
    await sendTo('wes', 'After the first tab closed');
    await expect.poll(() => titles(second), poll).toContain('After the first tab closed');
    expect(await sockets('wes')).toBe(1);
  }, 60_000);

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
