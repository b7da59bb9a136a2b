import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumInstalled,
  exampleInBrowserForTests,
  INBOX_CATEGORIES,
} from './helpers/browser.js';
import { RecallNotificationDocument, UpdateNotificationDocument } from '../client/graphql.js';
import { ok, send, SERVICE } from './helpers/operations.js';
import { sleep } from './helpers/wait.js';

// Inbox management in the reference inbox (examples/inbox), in Chromium against the real
// service: category tabs with their counts, dismiss, clear all, mark unread and snooze in one tab
// shown in the other tab and on another "device" (a second browser profile of the same user),
// each count compared with what the service says; display by importance (toast, desktop
// notification while hidden, a modal dialog for an URGENT one to acknowledge).

const artifact = (name: string) => fileURLToPath(new URL(`artifacts/${name}`, import.meta.url));

const example = exampleInBrowserForTests('inbox', { categories: INBOX_CATEGORIES });
const { pageErrors } = example;
const poll = { timeout: 10_000, interval: 50 };
/** The snooze menu's quick choice, in seconds. */
const QUICK_SNOOZE = 3;

/** A browser profile of its own (another device): its own SharedWorker and socket. */
const newDevice = () => example.newContext({ viewport: { width: 1100, height: 760 } });

const openTab = (context: BrowserContext, userId: string): Promise<Page> =>
  example.open(context, userId, { quickSnooze: String(QUICK_SNOOZE) });

/** What the category tabs say: { all: n, <category>: n } (not the Snoozed tab). */
const tabCounts = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>('.tabs .tab[data-tab]')].map((tab) => [
        tab.dataset.tab!,
        Number(tab.querySelector('.tab-count')!.textContent),
      ]),
    ),
  );

/**
 * What the list in the "All" tab shows (the list is drawn while the dropdown is closed too):
 * cards that need attention per category, and every card's title.
 */
const listed = (page: Page) =>
  page.evaluate(() => {
    const cards = [...document.querySelectorAll<HTMLElement>('.cards .card')];
    const unseen: Record<string, number> = {};
    for (const card of cards) {
      const category = card.querySelector('.category')!.textContent!;
      const counts = card.matches('.unseen, .needs-ack');
      unseen[category] = (unseen[category] ?? 0) + (counts ? 1 : 0);
    }
    const titles = cards.map((card) => card.querySelector('.title')!.textContent!);
    return { unseen, titles };
  });

/** The service's own counts for the user: { all, <category>... }. */
async function serviceCounts(userId: string): Promise<Record<string, number>> {
  const { data } = await example.server.request<{
    inbox: { unseenCount: number; counts: { category: string; unseen: number }[] };
  }>('{ inbox { unseenCount counts { category unseen } } }', {}, userId);
  return {
    all: data!.inbox.unseenCount,
    ...Object.fromEntries(data!.inbox.counts.map((c) => [c.category, c.unseen])),
  };
}

/**
 * Every page shows the service's counts in its tabs, its list agrees with its tabs (as many cards
 * needing attention per category as the tab says) and its titles are `titles` (when given). All
 * are read afresh until they agree: an action the test just clicked may still be on its way.
 * Answers the counts they agreed on.
 */
async function allAgree(userId: string, pages: Page[], titles?: string[]) {
  let agreed: Record<string, number> = {};
  for (const page of pages) {
    await expect
      .poll(async () => {
        const [service, shown, list] = await Promise.all([
          serviceCounts(userId),
          tabCounts(page),
          listed(page),
        ]);
        agreed = service;
        const fromList = Object.fromEntries(
          Object.keys(service).map((c) => [c, c === 'all' ? service.all : (list.unseen[c] ?? 0)]),
        );
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        const ok =
          same(shown, service) && same(fromList, service) && (!titles || same(list.titles, titles));
        return ok ? 'agree' : { service, shown, fromList, titles: list.titles };
      }, poll)
      .toBe('agree');
  }
  return agreed;
}

/** The card titled `title` in the open dropdown. */
const card = (page: Page, title: string) =>
  page.locator('.cards .card', { has: page.locator('.title', { hasText: title }) });

/** A card as the user reads it: a thread's count ("3 updates"), whether its sender edited it. */
interface CardShown {
  id: string;
  title: string;
  body: string | null;
  thread: string | null;
  edited: boolean;
}

/** The cards of the tab in view, in order, and whether each needs attention (unseen or to ack). */
const cardsShown = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.cards .card')].map((card) => ({
      id: card.dataset.id!,
      title: card.querySelector('.title')!.textContent!,
      body: card.querySelector('.body')?.textContent ?? null,
      thread: card.querySelector('.group-count')?.textContent ?? null,
      edited: card.querySelector('.edited') !== null,
      attention: card.matches('.unseen, .needs-ack'),
    })),
  );

/** The selected tab and the Snoozed tab's count. */
const snoozedTab = (page: Page) =>
  page.evaluate(() => {
    const tab = document.querySelector<HTMLElement>('.tabs .tab[data-view="snoozed"]');
    const selected = document.querySelector<HTMLElement>('.tabs .tab[aria-selected="true"]');
    return {
      count: Number(tab?.querySelector('.tab-count')?.textContent ?? NaN),
      selected: selected?.dataset.tab ?? selected?.dataset.view,
    };
  });

const INBOX_SNAPSHOT = `{
  inbox {
    unseenCount
    counts { category unseen }
    notifications { id title body groupCount editedAt }
  }
  snoozed: notifications(first: 100, filter: { status: SNOOZED }) { nodes { id title snoozedUntil } }
}`;

interface ServiceInbox {
  counts: Record<string, number>;
  cards: CardShown[];
  snoozed: { id: string; title: string; snoozedUntil: string }[];
}

/** The service's `inbox` snapshot (and its snoozed ones) over HTTP, in the view's words. */
async function serviceInbox(userId: string): Promise<ServiceInbox> {
  type Row = { id: string; title: string; body: string | null; groupCount: number };
  const { data } = await example.server.request<{
    inbox: {
      unseenCount: number;
      counts: { category: string; unseen: number }[];
      notifications: (Row & { editedAt: string | null })[];
    };
    snoozed: { nodes: ServiceInbox['snoozed'] };
  }>(INBOX_SNAPSHOT, {}, userId);
  const { inbox, snoozed } = data!;
  return {
    counts: {
      all: inbox.unseenCount,
      ...Object.fromEntries(inbox.counts.map((c) => [c.category, c.unseen])),
    },
    cards: inbox.notifications.map((n) => ({
      id: n.id,
      title: n.title,
      body: n.body,
      thread: n.groupCount > 1 ? `${n.groupCount} updates` : null,
      edited: n.editedAt !== null,
    })),
    snoozed: snoozed.nodes,
  };
}

/**
 * Every page, in its "All" tab, shows the service's inbox snapshot: its counts in the tabs, its
 * snoozed ones counted in the Snoozed tab, and its list (in order, with the content) as the cards
 * that need attention; and every page shows the same cards, seen ones too. Read afresh until they
 * agree, and until the service's snapshot is `settled` (an action just clicked may still be on its
 * way to the service). Answers the snapshot they agreed on.
 */
async function inStep(
  userId: string,
  pages: Page[],
  settled: (service: ServiceInbox) => boolean = () => true,
): Promise<ServiceInbox> {
  let agreed!: ServiceInbox;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  await expect
    .poll(async () => {
      const service = await serviceInbox(userId);
      if (!settled(service)) return { waitingFor: String(settled), service };
      const views = await Promise.all(
        pages.map(async (page) => {
          const [counts, snoozed, cards] = await Promise.all([
            tabCounts(page),
            snoozedTab(page),
            cardsShown(page),
          ]);
          const attention = cards.filter((c) => c.attention).map(({ attention: _, ...c }) => c);
          return { counts, snoozed, cards, attention };
        }),
      );
      agreed = service;
      const expected = {
        counts: service.counts,
        snoozed: { count: service.snoozed.length, selected: 'all' },
        attention: service.cards,
      };
      const problems = views.flatMap(({ counts, snoozed, cards, attention }, page) => [
        ...(same({ counts, snoozed, attention }, expected)
          ? []
          : [{ page, shown: { counts, snoozed, attention }, expected }]),
        ...(same(cards, views[0]!.cards) ? [] : [{ page, cards, firstPage: views[0]!.cards }]),
      ]);
      return problems.length === 0 ? 'in step' : problems;
    }, poll)
    .toBe('in step');
  return agreed;
}

/** Every value the bell's badge showed since this was called, recorded in the page. */
async function recordBadge(page: Page): Promise<() => Promise<number[]>> {
  await page.evaluate(() => {
    const badge = document.querySelector('.bell .badge')!;
    const log = [Number(badge.textContent)];
    Object.assign(window, { badgeLog: log });
    new MutationObserver(() => log.push(Number(badge.textContent))).observe(badge, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  return () => page.evaluate(() => (window as unknown as { badgeLog: number[] }).badgeLog);
}

describe.skipIf(!chromiumInstalled())('inbox management in the reference inbox', () => {
  beforeAll(async () => {
    await mkdir(new URL('artifacts/', import.meta.url), { recursive: true });
  });

  it('tab counts equal the list; dismiss, mark unread, clear all and snooze in one tab show in the other tab and on another device', async () => {
    const [laptop, phone] = [await newDevice(), await newDevice()];
    const [front, back] = [await openTab(laptop, 'kim'), await openTab(laptop, 'kim')];
    const other = await openTab(phone, 'kim');
    const pages = [front, back, other];
    const sendKim = (category: string, title: string) =>
      send(example.server, { category, recipientIds: ['kim'], title });
    await sendKim('exports', 'export 1');
    await sendKim('exports', 'export 2');
    await sendKim('billing', 'Invoice overdue');
    await sendKim('maintenance', 'Maintenance tonight');
    const counts = await allAgree('kim', pages, [
      'Maintenance tonight',
      'Invoice overdue',
      'export 2',
      'export 1',
    ]);
    expect(counts).toEqual({ all: 4, billing: 1, exports: 2, maintenance: 1, security: 0 });
    // A NORMAL one (and a LOW one) is a toast in a visible tab.
    await other.locator('.toast', { hasText: 'export 2' }).waitFor();
    await other.locator('.toast', { hasText: 'Maintenance tonight' }).waitFor();

    // The user opens the list in the front tab: what it shows is seen, on every device.
    await front.bringToFront();
    await front.locator('.bell').click();
    await expect.poll(() => serviceCounts('kim').then((c) => c.all), poll).toBe(0);
    await allAgree('kim', pages);

    // Mark unread: counted again everywhere (and not marked seen again while the list is open).
    await card(front, 'export 2').getByRole('button', { name: 'Mark export 2 unread' }).click();
    await card(front, 'Invoice overdue')
      .getByRole('button', { name: 'Mark Invoice overdue unread' })
      .click();
    await expect.poll(() => serviceCounts('kim').then((c) => c.all), poll).toBe(2);
    await sleep(500);
    expect(await allAgree('kim', pages)).toEqual({
      all: 2,
      billing: 1,
      exports: 1,
      maintenance: 0,
      security: 0,
    });

    // The exports tab: its list is its cards, its count theirs.
    await front.getByRole('tab', { name: /^exports,/ }).click();
    expect(await front.locator('.cards .card .title').allTextContents()).toEqual([
      'export 2',
      'export 1',
    ]);
    expect(await front.locator('.cards .card.unseen').count()).toBe(1);
    await front.screenshot({ path: artifact('inbox-tabs.png') });

    // Dismiss an unread one: gone from every list, its count down everywhere.
    await card(front, 'export 2').getByRole('button', { name: 'Dismiss export 2' }).click();
    await allAgree('kim', [back, other], ['Maintenance tonight', 'Invoice overdue', 'export 1']);
    expect(await serviceCounts('kim')).toMatchObject({ all: 1, exports: 0, billing: 1 });
    await expect.poll(() => tabCounts(front), poll).toMatchObject({ all: 1, exports: 0 });

    // Clear all in the billing tab: only billing goes.
    await front.getByRole('tab', { name: /^billing,/ }).click();
    await front.getByRole('button', { name: 'Clear all billing notifications' }).click();
    await allAgree('kim', [back, other], ['Maintenance tonight', 'export 1']);
    expect(await serviceCounts('kim')).toMatchObject({ all: 0, billing: 0 });
    await expect.poll(() => front.locator('.cards .card').count(), poll).toBe(0);

    // Snooze (the quick choice): hidden everywhere, and back by itself when due.
    await front.getByRole('tab', { name: /^All,/ }).click();
    await card(front, 'export 1').getByRole('button', { name: 'Mark export 1 unread' }).click();
    await expect.poll(() => serviceCounts('kim').then((c) => c.exports), poll).toBe(1);
    await card(front, 'export 1').getByRole('button', { name: 'Snooze export 1' }).click();
    const menu = front.getByRole('menu', { name: 'Snooze until' });
    expect(await menu.getByRole('menuitem').allTextContents()).toEqual([
      `In ${QUICK_SNOOZE} seconds`,
      'In 1 hour',
      'Tomorrow at 9:00',
    ]);
    const snoozedAt = Date.now();
    await menu.getByRole('menuitem', { name: `In ${QUICK_SNOOZE} seconds` }).click();
    await front.keyboard.press('Escape'); // the list closes: a toast may show when it is back
    await allAgree('kim', pages, ['Maintenance tonight']);
    expect(await serviceCounts('kim')).toMatchObject({ all: 0, exports: 0 });
    // Back live, unread again, on every tab and device (the service's UNSNOOZED when due).
    for (const page of pages) {
      await expect
        .poll(async () => (await listed(page)).titles, { ...poll, timeout: 15_000 })
        .toEqual(['Maintenance tonight', 'export 1']);
    }
    expect(Date.now() - snoozedAt).toBeGreaterThanOrEqual(QUICK_SNOOZE * 1000 - 500);
    expect(await allAgree('kim', pages)).toMatchObject({ all: 1, exports: 1 });
    await other.locator('.toast', { hasText: 'export 1' }).waitFor();
    await laptop.close();
    await phone.close();
  });

  it('shows an URGENT notification to acknowledge as a modal dialog in every tab until it is acknowledged', async () => {
    const [laptop, phone] = [await newDevice(), await newDevice()];
    const pages = [await openTab(laptop, 'lou'), await openTab(laptop, 'lou')];
    pages.push(await openTab(phone, 'lou'));
    await send(example.server, {
      category: 'security',
      recipientIds: ['lou'],
      title: 'New sign-in from Firefox on Linux',
      body: 'If this was not you, change your password.',
    });
    for (const page of pages) {
      const dialog = page.getByRole('dialog', { name: 'Action required' });
      await dialog.waitFor();
      expect(await dialog.getAttribute('aria-modal')).toBe('true');
      await dialog.getByText('New sign-in from Firefox on Linux').waitFor();
    }
    const [first] = pages as [Page, ...Page[]];
    await first.bringToFront();
    await first.screenshot({ path: artifact('inbox-urgent.png') });
    // It stays: Escape, a click beside it, a while.
    await first.keyboard.press('Escape');
    await first.mouse.click(10, 700);
    await sleep(500);
    expect(await first.getByRole('dialog').count()).toBe(1);
    // Nothing behind it can be reached with the mouse.
    await expect(first.locator('.bell').click({ timeout: 500 })).rejects.toThrow();

    await first.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
    for (const page of pages) {
      await expect.poll(() => page.getByRole('dialog').count(), poll).toBe(0);
    }
    expect(await serviceCounts('lou')).toMatchObject({ all: 0, security: 0 });
    await laptop.close();
    await phone.close();
  });

  it('shows a HIGH one as a desktop notification while the tab is hidden, once enabled from a click; never asks on load', async () => {
    const context = await newDevice();
    await context.grantPermissions(['notifications'], { origin: example.site.origin });
    // Headless Chromium shows no notification: record each one the page makes, and every
    // permission request; and let the test hide the page as switching tabs would.
    await context.addInitScript(() => {
      const log = { shown: [] as { title: string }[], requests: 0 };
      const Real = window.Notification;
      class Recorded extends Real {
        constructor(title: string, options?: NotificationOptions) {
          log.shown.push({ title });
          super(title, options);
        }
        static override requestPermission(...args: []) {
          log.requests++;
          return Real.requestPermission(...args);
        }
      }
      let hidden = false;
      Object.defineProperty(Document.prototype, 'visibilityState', {
        configurable: true,
        get: () => (hidden ? 'hidden' : 'visible'),
      });
      Object.defineProperty(Document.prototype, 'hidden', {
        configurable: true,
        get: () => hidden,
      });
      Object.assign(window, {
        Notification: Recorded,
        notificationLog: log,
        setHidden(value: boolean) {
          hidden = value;
          document.dispatchEvent(new Event('visibilitychange'));
        },
      });
    });
    const page = await openTab(context, 'max');
    const log = () =>
      page.evaluate(
        () =>
          (
            window as unknown as {
              notificationLog: { shown: { title: string }[]; requests: number };
            }
          ).notificationLog,
      );
    const setHidden = (hidden: boolean) =>
      page.evaluate(
        (value) => (window as unknown as { setHidden(v: boolean): void }).setHidden(value),
        hidden,
      );
    const sendMax = (category: string, title: string) =>
      send(example.server, { category, recipientIds: ['max'], title });
    const enable = page.getByRole('button', { name: 'Enable desktop notifications' });
    await enable.waitFor();
    // Granted already (by the test), yet nothing was asked on load and nothing is shown.
    expect(await log()).toEqual({ shown: [], requests: 0 });

    // Hidden, but not enabled yet: no desktop notification.
    await setHidden(true);
    await sendMax('billing', 'Invoice overdue (before enabling)');
    await expect.poll(() => tabCounts(page), poll).toMatchObject({ billing: 1 });
    await sleep(300);
    expect((await log()).shown).toEqual([]);

    await setHidden(false);
    await enable.click();
    await page.getByRole('button', { name: 'Desktop notifications on' }).waitFor();
    expect((await log()).requests).toBe(1);

    // Visible: a toast, not a desktop notification.
    await sendMax('billing', 'Invoice paid');
    await page.locator('.toast', { hasText: 'Invoice paid' }).waitFor();
    expect((await log()).shown).toEqual([]);

    // Hidden: a HIGH one is a desktop notification; a NORMAL one is not.
    await setHidden(true);
    await sendMax('exports', 'Export ready (quiet)');
    await sendMax('billing', 'Card declined');
    await expect.poll(async () => (await log()).shown, poll).toEqual([{ title: 'Card declined' }]);
    await sleep(300);
    expect((await log()).shown).toEqual([{ title: 'Card declined' }]);
    expect((await log()).requests).toBe(1);
    await context.close();
  });

  it('shows a thread as one entry with its count and newest content, live and after a reload; the bell goes up by one at most', async () => {
    const context = await newDevice();
    const page = await openTab(context, 'ana');
    const badgeLog = await recordBadge(page);
    const thread = (title: string, body: string) =>
      send(example.server, {
        category: 'exports',
        recipientIds: ['ana'],
        title,
        body,
        groupKey: 'pr-7',
      });
    await send(example.server, {
      category: 'exports',
      recipientIds: ['ana'],
      title: 'Not in the thread',
    });
    await thread('Ana commented', 'Looks good');
    expect((await inStep('ana', [page])).counts.all).toBe(2);

    // The thread's unseen entry is folded into the new one: one entry, the count as it was.
    await thread('Ben commented', 'One nit');
    let now = await inStep('ana', [page]);
    expect(now.counts.all).toBe(2);
    expect(now.cards).toMatchObject([
      { title: 'Ben commented', body: 'One nit', thread: '2 updates' },
      { title: 'Not in the thread', thread: null },
    ]);

    // Seen, then the thread goes on: one entry again, counted once.
    await page.locator('.bell').click();
    await expect.poll(() => serviceCounts('ana').then((c) => c.all), poll).toBe(0);
    await page.keyboard.press('Escape');
    await inStep('ana', [page]);
    const last = (await thread('Cy commented', 'Fixed')).notification.id;
    now = await inStep('ana', [page]);
    expect(now.counts.all).toBe(1);
    expect(now.cards).toEqual([
      { id: last, title: 'Cy commented', body: 'Fixed', thread: '3 updates', edited: false },
    ]);
    expect((await cardsShown(page)).map((c) => c.title)).toEqual([
      'Cy commented',
      'Not in the thread',
    ]);
    const shown = await badgeLog();
    expect(Math.max(...shown)).toBe(2);
    const steps = shown.slice(1).map((count, i) => count - shown[i]!);
    expect(steps.filter((step) => step > 1)).toEqual([]);

    // After a reload: the same one entry.
    await page.reload();
    await page.locator('body[data-status="live"]').waitFor({ timeout: 10_000 });
    now = await inStep('ana', [page]);
    expect(now.cards).toEqual([
      { id: last, title: 'Cy commented', body: 'Fixed', thread: '3 updates', edited: false },
    ]);
    expect(await page.getByText(/Ana commented|Ben commented/).count()).toBe(0);
    await page.bringToFront();
    await page.locator('.bell').click();
    await page.screenshot({ path: artifact('inbox-thread.png') });
    await context.close();
  });

  it('two tabs and another device stay in step with the service through a thread, an edit, a recall, dismiss, mark unread, clear all and snooze; the Snoozed tab lists what is snoozed until it is back', async () => {
    const [laptop, phone] = [await newDevice(), await newDevice()];
    const [front, back] = [await openTab(laptop, 'nia'), await openTab(laptop, 'nia')];
    const other = await openTab(phone, 'nia');
    const pages = [front, back, other];
    const sendNia = async (category: string, title: string, groupKey?: string) =>
      (await send(example.server, { category, recipientIds: ['nia'], title, groupKey }))
        .notification.id;
    await sendNia('exports', 'Report ready');
    const invoice = await sendNia('billing', 'Invoice overdue');
    await sendNia('maintenance', 'Maintenance tonight');
    let now = await inStep('nia', pages);
    expect(now.counts).toEqual({ all: 3, billing: 1, exports: 1, maintenance: 1, security: 0 });

    // A thread: one entry on every page, the count up by one.
    await sendNia('exports', 'Ana commented', 'pr-9');
    await sendNia('exports', 'Ben commented', 'pr-9');
    now = await inStep('nia', pages);
    expect(now.counts).toMatchObject({ all: 4, exports: 2 });
    expect(now.cards.filter((c) => c.thread)).toMatchObject([
      { title: 'Ben commented', thread: '2 updates' },
    ]);
    for (const page of pages) expect(await page.getByText('Ana commented').count()).toBe(0);

    // The sender edits one: new content on every page at once, marked as edited; no count moves.
    await ok(
      example.server,
      UpdateNotificationDocument,
      { id: invoice, input: { title: 'Invoice overdue (2 days)', body: 'Pay by Friday' } },
      SERVICE,
    );
    for (const page of pages) {
      // Drawn in the list (closed here) at once.
      await card(page, 'Invoice overdue (2 days)')
        .locator('.edited')
        .waitFor({ state: 'attached', timeout: 3000 });
    }
    now = await inStep('nia', pages);
    expect(now.counts.all).toBe(4);
    expect(now.cards.find((c) => c.id === invoice)).toMatchObject({
      title: 'Invoice overdue (2 days)',
      body: 'Pay by Friday',
      edited: true,
    });
    expect(await card(front, 'Invoice overdue (2 days)').locator('.body').textContent()).toBe(
      'Pay by Friday',
    );

    // The sender recalls one just sent: gone from every page (its toast too) and the counts.
    const recalled = await sendNia('exports', 'Wrong export');
    await other.locator('.toast', { hasText: 'Wrong export' }).waitFor();
    expect((await inStep('nia', pages)).counts.all).toBe(5);
    await ok(example.server, RecallNotificationDocument, { id: recalled }, SERVICE);
    for (const page of pages) {
      await expect.poll(() => page.getByText('Wrong export').count(), poll).toBe(0);
    }
    expect((await inStep('nia', pages)).counts).toMatchObject({ all: 4, exports: 2 });

    // Opened in the front tab: seen everywhere. Mark unread: counted again everywhere.
    await front.bringToFront();
    await front.locator('.bell').click();
    await expect.poll(() => serviceCounts('nia').then((c) => c.all), poll).toBe(0);
    await inStep('nia', pages);
    await card(front, 'Report ready')
      .getByRole('button', { name: 'Mark Report ready unread' })
      .click();
    now = await inStep('nia', pages, (s) => s.counts.all === 1);
    expect(now.counts).toMatchObject({ all: 1, exports: 1 });

    // Dismiss the thread's entry.
    await card(front, 'Ben commented')
      .getByRole('button', { name: 'Dismiss Ben commented' })
      .click();
    for (const page of pages) {
      await expect.poll(() => page.getByText('Ben commented').count(), poll).toBe(0);
    }
    await inStep('nia', pages);

    // Clear all in the billing tab: the edited invoice goes.
    await front.getByRole('tab', { name: /^billing,/ }).click();
    await front.getByRole('button', { name: 'Clear all billing notifications' }).click();
    await front.getByRole('tab', { name: /^All,/ }).click();
    for (const page of pages) {
      await expect.poll(() => page.getByText('Invoice overdue').count(), poll).toBe(0);
    }
    await inStep('nia', pages);

    // Snooze one for an hour: out of the list and the counts, in the Snoozed tab with its time.
    await card(front, 'Report ready').getByRole('button', { name: 'Snooze Report ready' }).click();
    await front.getByRole('menuitem', { name: 'In 1 hour' }).click();
    now = await inStep('nia', pages, (s) => s.snoozed.length === 1);
    expect(now.counts).toMatchObject({ all: 0, exports: 0 });
    expect(now.snoozed.map((n) => n.title)).toEqual(['Report ready']);

    // Another, unread, for a few seconds: listed first, back by itself when due.
    await card(front, 'Maintenance tonight')
      .getByRole('button', { name: 'Mark Maintenance tonight unread' })
      .click();
    await expect.poll(() => serviceCounts('nia').then((c) => c.maintenance), poll).toBe(1);
    await card(front, 'Maintenance tonight')
      .getByRole('button', { name: 'Snooze Maintenance tonight' })
      .click();
    await front.getByRole('menuitem', { name: `In ${QUICK_SNOOZE} seconds` }).click();
    await front.getByRole('tab', { name: /^Snoozed,/ }).click();
    const snoozedCards = () =>
      front.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('.cards .card')].map((c) => ({
          title: c.querySelector('.title')!.textContent,
          wakes: c.querySelector('time.wakes')?.getAttribute('datetime'),
          text: c.querySelector('time.wakes')?.textContent,
        })),
      );
    await expect.poll(async () => (await snoozedCards()).length, poll).toBe(2);
    const service = await serviceInbox('nia');
    expect(service.snoozed.map((n) => n.title)).toEqual(['Maintenance tonight', 'Report ready']);
    const listedSnoozed = await snoozedCards();
    expect(listedSnoozed).toEqual(
      service.snoozed.map((n) => ({
        title: n.title,
        wakes: n.snoozedUntil,
        text: expect.stringMatching(/^Back /),
      })),
    );
    await front.screenshot({ path: artifact('inbox-snoozed.png') });
    await expect
      .poll(async () => (await snoozedCards()).map((c) => c.title), { ...poll, timeout: 15_000 })
      .toEqual(['Report ready']);
    await front.getByRole('tab', { name: /^All,/ }).click();
    now = await inStep('nia', pages);
    expect(now.counts).toMatchObject({ all: 1, maintenance: 1 });
    expect(now.cards.map((c) => c.title)).toEqual(['Maintenance tonight']);

    // Clear all in the Snoozed tab: the snoozed ones only.
    await front.getByRole('tab', { name: /^Snoozed,/ }).click();
    await front.getByRole('button', { name: 'Clear all snoozed notifications' }).click();
    await front.getByRole('tab', { name: /^All,/ }).click();
    now = await inStep('nia', pages, (s) => s.snoozed.length === 0);
    expect(now.snoozed).toEqual([]);
    expect(now.counts).toMatchObject({ all: 1, maintenance: 1 });
    await laptop.close();
    await phone.close();
  }, 90_000);

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
