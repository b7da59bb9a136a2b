import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoff } from '../packages/client/src/backoff.js';
import { InboxDocument, UnseenCountDocument } from '../client/graphql.js';
import {
  chromiumInstalled,
  exampleInBrowserForTests,
  INBOX_CATEGORIES,
} from './helpers/browser.js';
import { ok, send } from './helpers/operations.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { sleep } from './helpers/wait.js';

// The reference inbox (examples/inbox), built with Vite and run in Debian's Chromium against the
// real service: what a user with several tabs open sees. The inbox reaches the service through a
// TCP proxy, so a test can take the network away and count how often the browser connects.

const SCREENSHOT = fileURLToPath(new URL('artifacts/inbox.png', import.meta.url));
const TOASTS_SCREENSHOT = fileURLToPath(new URL('artifacts/inbox-toasts.png', import.meta.url));

const example = exampleInBrowserForTests('inbox', { categories: INBOX_CATEGORIES });
const { pageErrors } = example;
let proxy: TcpProxy;
let serviceUrl: string;

/** A browser profile of its own: its own SharedWorker, localStorage and sockets. */
async function newBrowserProfile(options: { withoutSharedWorker?: boolean } = {}) {
  const context = await example.newContext({ viewport: { width: 1100, height: 760 } });
  if (options.withoutSharedWorker) {
    // As in a browser that has none (Chrome on Android, for one).
    await context.addInitScript(() => {
      delete (globalThis as { SharedWorker?: unknown }).SharedWorker;
    });
  }
  return context;
}

/** Opens the inbox signed in as `userId`, through the proxy, and waits until it is live. */
async function openTab(
  context: BrowserContext,
  userId: string,
  options: { token?: string; beforeLoad?: (page: Page) => void } = {},
): Promise<Page> {
  const token = options.token ?? (await example.server.token(userId));
  const { beforeLoad } = options;
  return example.open(context, userId, { server: serviceUrl, token }, { beforeLoad });
}

const waitForStatus = (page: Page, status: string) =>
  page.locator(`body[data-status="${status}"]`).waitFor({ timeout: 10_000 });

/** The badge as the user reads it: '' when it is hidden (nothing unseen). */
const badge = (page: Page) =>
  page.evaluate(() => {
    const element = document.querySelector<HTMLElement>('.badge');
    return element && !element.hidden ? element.textContent : '';
  });

const cardTitles = (page: Page) => page.locator('.cards .card .title').allTextContents();
const attentionTitles = (page: Page) =>
  page.locator('.attention .attention-item strong').allTextContents();

/** graphql-ws connections the service has on record for the user: one per socket. */
const sockets = (userId: string) =>
  example.server.app.services.database.connection.count({ where: { userId } });

const serverUnseenCount = async (userId: string) =>
  (await ok(example.server, UnseenCountDocument, {}, userId)).unseenCount;

const poll = { timeout: 10_000, interval: 50 };

/** The ids of the user's graphql-ws connection records: a new socket gets a new one. */
const socketIds = async (userId: string) =>
  (
    await example.server.app.services.database.connection.findMany({
      where: { userId },
      select: { id: true },
    })
  ).map((connection) => connection.id);

const sendTo = async (userId: string, title: string) => {
  const sent = await send(example.server, { category: 'exports', recipientIds: [userId], title });
  return sent.notification.id;
};

/** What the inbox reports as received (Received in examples/inbox/src/received.ts). */
interface Received {
  hub: string;
  seq: number;
  from: 'snapshot' | 'event';
  eventType?: string;
  ids: string[];
}

/**
 * Everything every hub of the profile reported receiving (the inbox's `inbox:received` event), in
 * any of its tabs, across reloads; one entry per hub and count, however many tabs heard it.
 */
async function watchReceived(context: BrowserContext): Promise<Received[]> {
  const log: Received[] = [];
  const seen = new Set<string>();
  await context.exposeBinding('reportReceived', (_source, received: Received) => {
    const key = `${received.hub}#${received.seq}`;
    if (!seen.has(key)) log.push(received);
    seen.add(key);
  });
  await context.addInitScript(() =>
    addEventListener('inbox:received', (event) =>
      (window as unknown as { reportReceived(detail: unknown): void }).reportReceived(
        (event as CustomEvent).detail,
      ),
    ),
  );
  return log;
}

const hubs = (log: Received[]) => [...new Set(log.map((received) => received.hub))];

/**
 * Every notification that arrived more than once: twice in one hub (in its snapshot and as an
 * event, or as two events), or as a CREATED event in two hubs (one resumed from too far back).
 */
function repeats(log: Received[]): string[] {
  const found: string[] = [];
  const inHub = new Map<string, Set<string>>();
  const createdIn = new Map<string, string>();
  for (const { hub, from, eventType, ids } of log) {
    if (from === 'event' && eventType !== 'CREATED') continue;
    const arrived = inHub.get(hub) ?? new Set<string>();
    inHub.set(hub, arrived);
    for (const id of ids) {
      if (arrived.has(id)) found.push(`${id} again in hub ${hub} (${from})`);
      arrived.add(id);
      if (from !== 'event') continue;
      const earlier = createdIn.get(id);
      if (earlier !== undefined && earlier !== hub)
        found.push(`${id} CREATED in hub ${earlier} and again in ${hub}`);
      createdIn.set(id, hub);
    }
  }
  return found;
}

/**
 * Reloads `page` and runs `during` once the old page is gone and before the new one runs any
 * script (its scripts are held until then); resolves with what `during` gave, once the new page
 * has loaded.
 */
async function whileReloading<T>(page: Page, during: () => Promise<T>): Promise<T> {
  const script = (url: URL) => url.pathname.startsWith('/assets/') && url.pathname.endsWith('.js');
  let newPageAsked!: () => void;
  const result = new Promise<void>((resolve) => (newPageAsked = resolve)).then(during);
  await page.route(script, async (route) => {
    newPageAsked();
    await result.catch(() => {});
    await route.continue();
  });
  const reloaded = page.reload({ waitUntil: 'load' });
  const loadedWithoutScript = reloaded.then(() => {
    throw new Error('the reloaded page loaded without asking for its script');
  });
  const [value] = await Promise.all([Promise.race([result, loadedWithoutScript]), reloaded]);
  await page.unroute(script);
  return value;
}

describe.skipIf(!chromiumInstalled())('the reference inbox in Chromium', () => {
  beforeAll(async () => {
    const port = Number(new URL(example.server.url).port);
    proxy = await startTcpProxy({ host: '127.0.0.1', port });
    serviceUrl = `http://127.0.0.1:${proxy.port}/graphql`;
  });
  afterAll(() => proxy?.close());

  it('shares one WebSocket between two tabs, and both show a sent notification with the exact count', async () => {
    const context = await newBrowserProfile();
    const [first, second] = [await openTab(context, 'alice'), await openTab(context, 'alice')];
    await expect.poll(() => sockets('alice'), poll).toBe(1);
    await sleep(500);
    expect(await sockets('alice')).toBe(1);

    await send(example.server, {
      category: 'exports',
      recipientIds: ['alice'],
      title: 'Your export is ready',
      actionUrl: '/exports/42',
    });
    await send(example.server, {
      category: 'billing',
      recipientIds: ['alice'],
      title: 'Invoice overdue',
      body: 'Invoice 2024-117 was due yesterday.',
    });
    for (const tab of [first, second]) {
      await expect
        .poll(() => cardTitles(tab), poll)
        .toEqual(['Invoice overdue', 'Your export is ready']);
      await expect.poll(() => badge(tab), poll).toBe('2');
      expect(await tab.locator('.card.priority-high .priority').textContent()).toBe('HIGH');
      expect(await tab.locator('.card a').getAttribute('href')).toBe('/exports/42');
    }
    await first.locator('.toast', { hasText: 'Invoice overdue' }).waitFor();
    expect(await serverUnseenCount('alice')).toBe(2);
    await context.close();
  });

  it('shows a require-ack notification prominently until it is acknowledged in either tab', async () => {
    const context = await newBrowserProfile();
    const [first, second] = [await openTab(context, 'bob'), await openTab(context, 'bob')];
    await send(example.server, {
      category: 'security',
      recipientIds: ['bob'],
      title: 'New sign-in from Firefox on Linux',
      body: 'If this was not you, change your password.',
    });
    for (const tab of [first, second]) {
      await expect
        .poll(() => attentionTitles(tab), poll)
        .toEqual(['New sign-in from Firefox on Linux']);
      await expect.poll(() => badge(tab), poll).toBe('1');
      // No dismissing it: only acknowledging.
      expect(await tab.locator('.card.needs-ack .dismiss').count()).toBe(0);
    }

    await second.locator('.attention .acknowledge').click();
    for (const tab of [first, second]) {
      await expect.poll(() => attentionTitles(tab), poll).toEqual([]);
      await expect.poll(() => badge(tab), poll).toBe('');
      expect(await tab.locator('.card.needs-ack').count()).toBe(0);
    }
    expect(await serverUnseenCount('bob')).toBe(0);
    await context.close();
  });

  it('misses nothing and repeats nothing sent while a tab reloads, or while the only tab reloads', async () => {
    const context = await newBrowserProfile();
    const received = await watchReceived(context);
    const [first, second] = [await openTab(context, 'carol'), await openTab(context, 'carol')];
    const sent = [await sendTo('carol', 'one')];
    await expect.poll(() => cardTitles(second), poll).toEqual(['one']);
    const socketsBefore = await socketIds('carol');
    expect(socketsBefore).toHaveLength(1);

    // Sent while the reloading tab has no page at all: its old one is gone, the new one's
    // script is held back until the send is stored.
    sent.push(await whileReloading(second, () => sendTo('carol', 'two')));
    await waitForStatus(second, 'live');
    for (const tab of [first, second]) {
      await expect.poll(() => cardTitles(tab), poll).toEqual(['two', 'one']);
      await expect.poll(() => badge(tab), poll).toBe('2');
    }
    // The other tab kept the worker, so the browser kept its one socket.
    expect(await socketIds('carol')).toEqual(socketsBefore);

    // With the other tab closed the worker goes too; the reloaded tab starts a new one, which
    // opens a new socket and resumes from a new snapshot.
    await first.close();
    const hubsBefore = hubs(received);
    sent.push(await whileReloading(second, () => sendTo('carol', 'three')));
    await expect
      .poll(async () => (await socketIds('carol')).some((id) => !socketsBefore.includes(id)), poll)
      .toBe(true);
    await expect.poll(() => hubs(received).length, poll).toBe(hubsBefore.length + 1);
    await waitForStatus(second, 'live');
    sent.push(await sendTo('carol', 'four'));
    await expect.poll(() => cardTitles(second), poll).toEqual(['four', 'three', 'two', 'one']);
    await expect.poll(() => badge(second), poll).toBe('4');
    await expect.poll(() => sockets('carol'), poll).toBe(1);

    // What the hubs received, before the view hides repeats: every notification once.
    expect(repeats(received)).toEqual([]);
    expect(new Set(received.flatMap((r) => r.ids))).toEqual(new Set(sent));
    await context.close();
  });

  it('resumes from the last event after the network comes back, in every tab, without duplicates', async () => {
    const context = await newBrowserProfile();
    const received = await watchReceived(context);
    const [first, second] = [await openTab(context, 'dave'), await openTab(context, 'dave')];
    await send(example.server, { category: 'exports', recipientIds: ['dave'], title: 'before' });
    await expect.poll(() => badge(second), poll).toBe('1');

    await proxy.cut();
    await waitForStatus(first, 'reconnecting');
    await send(example.server, {
      category: 'exports',
      recipientIds: ['dave'],
      title: 'while away',
    });
    await send(example.server, {
      category: 'billing',
      recipientIds: ['dave'],
      title: 'Invoice ready',
    });
    await proxy.restore();

    for (const tab of [first, second]) {
      await waitForStatus(tab, 'live');
      await expect
        .poll(() => cardTitles(tab), poll)
        .toEqual(['Invoice ready', 'while away', 'before']);
      await expect.poll(() => badge(tab), poll).toBe('3');
    }
    expect(await serverUnseenCount('dave')).toBe(3);
    await expect.poll(() => sockets('dave'), poll).toBe(1);
    expect(repeats(received)).toEqual([]);
    await context.close();
  });

  it('resubscribes after a reconnect from the last event it received, not from the start', async () => {
    // Without a SharedWorker the socket is the page's own, so its frames can be read here.
    const context = await newBrowserProfile({ withoutSharedWorker: true });
    const resumedFrom: unknown[] = [];
    const page = await openTab(context, 'ivy', {
      beforeLoad: (tab) =>
        tab.on('websocket', (socket) =>
          socket.on('framesent', ({ payload }) => {
            const message = JSON.parse(String(payload)) as {
              type: string;
              payload?: { variables?: { after?: string } };
            };
            if (message.type === 'subscribe') resumedFrom.push(message.payload?.variables?.after);
          }),
        ),
    });
    const { eventCursor } = await ok(example.server, InboxDocument, {}, 'ivy');
    expect(resumedFrom).toEqual([eventCursor]);
    await send(example.server, { category: 'exports', recipientIds: ['ivy'], title: 'one' });
    await expect.poll(() => cardTitles(page), poll).toEqual(['one']);
    // The tab keeps the cursor of the last event in localStorage.
    const lastCursor = await page.evaluate(() => localStorage.getItem('inbox.cursor'));
    expect(lastCursor).not.toBe(eventCursor);

    await proxy.cut();
    await waitForStatus(page, 'reconnecting');
    await proxy.restore();
    await waitForStatus(page, 'live');
    await expect.poll(() => resumedFrom, poll).toEqual([eventCursor, lastCursor]);
    await context.close();
  });

  it('marks seen what the open dropdown shows, marks all seen, and dismisses in every tab', async () => {
    const context = await newBrowserProfile();
    const [first, second] = [await openTab(context, 'erin'), await openTab(context, 'erin')];
    for (let i = 1; i <= 12; i++) {
      await send(example.server, {
        category: 'exports',
        recipientIds: ['erin'],
        title: `export ${i}`,
      });
    }
    await expect.poll(() => badge(second), poll).toBe('12');
    // In the list but not on screen: nothing is marked seen while the dropdown is closed.
    await sleep(500);
    expect(await serverUnseenCount('erin')).toBe(12);

    // The user works in the tab in front; Chromium throttles the rendering of the others.
    await first.bringToFront();
    await first.locator('.bell').click();
    // The cards the dropdown shows are seen; the ones further down are not, yet.
    await expect.poll(() => serverUnseenCount('erin'), poll).toBeLessThan(12);
    await sleep(500);
    const unseen = await serverUnseenCount('erin');
    expect(unseen).toBeGreaterThan(0);
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe(`${unseen}`);

    await first.locator('.mark-all').click();
    for (const tab of [first, second]) await expect.poll(() => badge(tab), poll).toBe('');
    expect(await serverUnseenCount('erin')).toBe(0);

    await first.locator('.card', { hasText: 'export 12' }).locator('.dismiss').click();
    for (const tab of [first, second]) {
      await expect
        .poll(async () => (await cardTitles(tab)).includes('export 12'), poll)
        .toBe(false);
      expect(await tab.locator('.card').count()).toBe(11);
    }
    await context.close();
  });

  it('stops reconnecting when the service closes with 4401 at the token expiry, and carries on with a new one', async () => {
    const context = await newBrowserProfile();
    const page = await openTab(context, 'frank', {
      // Long enough for the page to load and go live on a busy machine, short enough to wait for.
      token: await example.server.token('frank', { ttl: '6s' }),
    });
    // At the token's expiry the service closes the open socket with 4401: no retry with it.
    await waitForStatus(page, 'expired');
    expect(await page.locator('.sign-in .why').textContent()).toContain('session expired');

    const attempts = proxy.accepted();
    await sleep(3000);
    expect(proxy.accepted()).toBe(attempts);

    await send(example.server, {
      category: 'exports',
      recipientIds: ['frank'],
      title: 'while signed out',
    });
    await page.locator('.sign-in textarea').fill(await example.server.token('frank'));
    await page.locator('.sign-in button[type=submit]').click();
    await waitForStatus(page, 'live');
    await expect.poll(() => cardTitles(page), poll).toEqual(['while signed out']);
    await expect.poll(() => badge(page), poll).toBe('1');
    await context.close();
  });

  it('follows a sign-in as someone else in a new tab: every tab shows the new user, not the one before', async () => {
    const context = await newBrowserProfile();
    const first = await openTab(context, 'hana');
    await waitForStatus(first, 'live');
    await sendTo('hana', 'for hana');
    await expect.poll(() => cardTitles(first), poll).toEqual(['for hana']);

    // The example's sign-in: a new tab opened with another user's token.
    const second = await openTab(context, 'ivan');
    await sendTo('ivan', 'for ivan');
    await sendTo('hana', 'for hana again');
    for (const tab of [first, second]) {
      await expect.poll(() => cardTitles(tab), poll).toEqual(['for ivan']);
    }
    await expect.poll(() => sockets('hana'), poll).toBe(0);
    await context.close();
  });

  it('falls back to the socket of the tab holding a Web Lock where there is no SharedWorker, and tabs still agree', async () => {
    const context = await newBrowserProfile({ withoutSharedWorker: true });
    const [first, second] = [await openTab(context, 'gina'), await openTab(context, 'gina')];
    await expect.poll(() => sockets('gina'), poll).toBe(1);
    await sleep(500);
    expect(await sockets('gina')).toBe(1);
    await send(example.server, {
      category: 'security',
      recipientIds: ['gina'],
      title: 'Password changed',
    });
    for (const tab of [first, second]) {
      await expect.poll(() => attentionTitles(tab), poll).toEqual(['Password changed']);
    }
    await first.bringToFront();
    await first.locator('.attention .acknowledge').click();
    for (const tab of [first, second]) {
      await expect.poll(() => attentionTitles(tab), poll).toEqual([]);
      await expect.poll(() => badge(tab), poll).toBe('');
    }
    await context.close();
  });

  it('looks like a notification centre (screenshots in test/artifacts/)', async () => {
    const context = await newBrowserProfile();
    const page = await openTab(context, 'henry');
    await send(example.server, {
      category: 'maintenance',
      public: true,
      title: 'Maintenance tonight at 22:00 UTC',
      body: 'Expect a few minutes of downtime.',
    });
    await send(example.server, {
      category: 'exports',
      recipientIds: ['henry'],
      title: 'Your export is ready',
      body: 'projects-2024.csv (2.4 MB)',
      icon: '/icons/export.svg',
      actionUrl: '/exports/42',
    });
    await send(example.server, {
      category: 'billing',
      recipientIds: ['henry'],
      title: 'Invoice overdue',
      body: 'Invoice 2024-117 was due yesterday.',
      icon: '/icons/billing.svg',
      actionUrl: '/billing/invoices/2024-117',
    });
    await send(example.server, {
      category: 'security',
      recipientIds: ['henry'],
      title: 'New sign-in from Firefox on Linux',
      body: 'If this was not you, change your password.',
      icon: '/icons/security.svg',
      actionUrl: '/account/security',
    });
    await expect.poll(() => badge(page), poll).toBe('4');
    await page.locator('.toast', { hasText: 'New sign-in' }).waitFor();
    await mkdir(new URL('artifacts/', import.meta.url), { recursive: true });
    await page.evaluate(() => Promise.all([...document.images].map((image) => image.decode())));
    // The URGENT one to acknowledge is a modal dialog over the toasts until it is answered.
    await page.getByRole('dialog', { name: 'Action required' }).waitFor();
    await page.screenshot({ path: TOASTS_SCREENSHOT });
    await page.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.getByRole('dialog').count(), poll).toBe(0);
    await page.locator('.bell').click();
    await expect.poll(() => page.locator('.card.unseen').count(), poll).toBeLessThan(3);
    await page.evaluate(() => Promise.all([...document.images].map((image) => image.decode())));
    await page.screenshot({ path: SCREENSHOT });
    expect(await page.locator('.card').count()).toBe(4);
    await context.close();
  });

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('the inbox reconnect back-off', () => {
  it('waits about twice as long after each failure, with jitter, up to 30 seconds', () => {
    const low = (retries: number) => backoff(retries, () => 0);
    const high = (retries: number) => backoff(retries, () => 1);
    expect([0, 1, 2, 3].map(low)).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map(high)).toEqual([1000, 2000, 4000, 8000]);
    expect(high(20)).toBe(30_000);
    expect(low(20)).toBe(15_000);
    expect(backoff(2, () => 0.5)).toBe(3000);
  });
});
