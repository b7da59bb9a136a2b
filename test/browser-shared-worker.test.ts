import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { UnseenCountDocument } from '../client/graphql.js';
import { chromiumInstalled, exampleInBrowserForTests } from './helpers/browser.js';
import { ok, send } from './helpers/operations.js';

// createSharedInbox with `sharedWorker`: the store runs in a SharedWorker, so a browser has one
// socket whichever tabs come and go. The React example with ?worker=1 passes the worker's URL.

const example = exampleInBrowserForTests('react-inbox', {
  categories: [{ name: 'exports' }],
  consoleErrors: true,
});
const { pageErrors } = example;
const poll = { timeout: 15_000, interval: 50 };

const openTab = (context: BrowserContext, userId: string, token: string) =>
  example.open(context, userId, { token, worker: '1' }, { liveWithinMs: 15_000 });

const badge = async (page: Page) => {
  const element = page.locator('.ni-badge');
  return (await element.count()) === 0 ? '' : ((await element.textContent()) ?? '');
};
const titles = (page: Page) => page.locator('.ni-item .ni-item-title').allTextContents();
const status = (page: Page) => page.locator('body').getAttribute('data-status');
const serverUnseenCount = async (userId: string) =>
  (await ok(example.server, UnseenCountDocument, {}, userId)).unseenCount;
const sendTo = (userId: string, title: string) =>
  send(example.server, { category: 'exports', recipientIds: [userId], title });
/** graphql-ws connections the service has on record for the user: one per socket. */
const socketIds = async (userId: string) =>
  (
    await example.server.app.services.database.connection.findMany({
      where: { userId },
      select: { id: true },
    })
  ).map((connection) => connection.id);
/** Snapshots the tabs were told of (the store's 'snapshot' event, counted by the page). */
const snapshots = (page: Page) => page.evaluate(() => window.inboxSnapshots ?? 0);

declare global {
  interface Window {
    inboxSnapshots?: number;
  }
}

describe.skipIf(!chromiumInstalled())('one socket per browser through a SharedWorker', () => {
  const newContext = () => example.newContext({ viewport: { width: 900, height: 700 } });

  it('keeps one socket for two tabs, shows and marks seen in both, and outlives the first tab', async () => {
    const context = await newContext();
    const token = await example.server.token('sol');
    const first = await openTab(context, 'sol', token);
    const second = await openTab(context, 'sol', token);
    await expect.poll(() => socketIds('sol'), poll).toHaveLength(1);
    const [socket] = await socketIds('sol');

    await sendTo('sol', 'To both tabs');
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('1');
    expect(await socketIds('sol')).toEqual([socket]);

    // Seen in the second tab: the worker's store marks it, both tabs and the service agree.
    await second.bringToFront();
    await second.locator('.ni-bell').click();
    await expect.poll(() => serverUnseenCount('sol'), poll).toBe(0);
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('');
    await second.locator('.ni-bell').click();

    // The first tab goes: the worker keeps its socket and its state (no new snapshot).
    const snapshotsBefore = await snapshots(second);
    await first.close({ runBeforeUnload: true });
    await sendTo('sol', 'After the first tab closed');
    await expect.poll(() => badge(second), poll).toBe('1');
    await second.locator('.ni-bell').click();
    await expect
      .poll(() => titles(second), poll)
      .toEqual(['After the first tab closed', 'To both tabs']);
    expect(await socketIds('sol')).toEqual([socket]);
    expect(await snapshots(second)).toBe(snapshotsBefore);
  }, 90_000);

  it('closes its socket when the last tab closes', async () => {
    const context = await newContext();
    const only = await openTab(context, 'tom', await example.server.token('tom'));
    await expect.poll(() => socketIds('tom'), poll).toHaveLength(1);
    await only.close({ runBeforeUnload: true });
    await expect.poll(() => socketIds('tom'), poll).toEqual([]);
  }, 60_000);

  it('asks a tab for a new token after 4401 and goes on without missing or repeating anything', async () => {
    const context = await newContext();
    // Long enough for both tabs to open live (the second keeps the first's token).
    const shortLived = await example.server.token('una', { ttl: '8s' });
    const first = await openTab(context, 'una', shortLived);
    const second = await openTab(context, 'una', shortLived);
    await sendTo('una', 'Before it expired');
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('1');

    // The token expires: the service closes the one socket with 4401, every tab shows it.
    for (const tab of [first, second]) await expect.poll(() => status(tab), poll).toBe('expired');
    expect(await socketIds('una')).toEqual([]);
    await sendTo('una', 'While it was expired');

    // A tab signs in again: the worker asks a tab for the token before it connects.
    const fresh = await example.server.token('una');
    await second.locator('textarea').fill(fresh);
    await second.locator('form button').click();
    for (const tab of [first, second]) await expect.poll(() => status(tab), poll).toBe('live');
    await expect.poll(() => socketIds('una'), poll).toHaveLength(1);
    await sendTo('una', 'After the new token');
    for (const tab of [first, second]) {
      await expect.poll(() => badge(tab), poll).toBe('3');
    }
    await first.bringToFront();
    await first.locator('.ni-bell').click();
    await expect
      .poll(() => titles(first), poll)
      .toEqual(['After the new token', 'While it was expired', 'Before it expired']);
    expect(await socketIds('una')).toHaveLength(1);
  }, 90_000);

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
