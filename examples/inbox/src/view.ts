import type {
  InboxState,
  InboxStatus,
  Notification,
  NotificationFilter,
} from '../../../packages/client/src';

// The notification centre drawn from the store's state: a bell with the count, a dropdown with a
// tab per category (with its count), a Snoozed tab, and cards (a thread's count, an "edited"
// mark) to dismiss, mark unread or snooze, a banner for what must be acknowledged (a modal dialog
// when it is URGENT), toasts, desktop notifications for important ones while the tab is hidden,
// and a sign-in panel. Notification text is only ever set as text, never as HTML: it comes from
// other services.

export interface Actions {
  markSeen(ids: string[]): void;
  markAllSeen(): void;
  acknowledge(id: string): void;
  archive(ids: string[]): void;
  archiveAll(filter: NotificationFilter): void;
  markUnseen(ids: string[]): void;
  snooze(id: string, until: string): void;
  signIn(token: string): void;
}

/** The store's status, or no token yet. */
export type Status = InboxStatus | 'signed-out';

/** What the view draws: the store's state, or `signedOut` before there is a token. */
export type ViewState = Pick<
  InboxState,
  'unseenCount' | 'categoryCounts' | 'notifications' | 'snoozed' | 'problem'
> & { status: Status };

export const signedOut: ViewState = {
  status: 'signed-out',
  unseenCount: 0,
  categoryCounts: {},
  notifications: [],
  snoozed: [],
  problem: null,
};

export interface ViewOptions {
  /** Adds "In <n> seconds" to the snooze menu (demos and tests). */
  quickSnoozeSeconds?: number;
}

/** The "All" tab; the others are category names and SNOOZED. */
const ALL = '';
/** The Snoozed tab: not a string, so no category name can be taken for it. */
const SNOOZED = Symbol('snoozed');
type Tab = string | typeof SNOOZED;
const DESKTOP_KEY = 'inbox.desktopNotifications';

const STATUS_TEXT: Record<Status, string> = {
  'signed-out': 'Signed out',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  expired: 'Session expired',
  failed: 'Disconnected',
  closed: 'Signed out',
};

const BELL_SVG =
  '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"/></svg>';

export class InboxView {
  private state?: ViewState;
  private readonly bell = h('button', { class: 'bell', type: 'button' });
  private readonly badge = h('span', { class: 'badge' });
  private readonly status = h('span', { class: 'status' });
  private readonly dropdown = h('section', { class: 'dropdown', hidden: '' });
  private readonly list = h('ol', { class: 'cards', role: 'tabpanel' });
  private readonly tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Categories' });
  private readonly clearAll = h('button', { class: 'clear-all', type: 'button' }, 'Clear all');
  private readonly desktop = h(
    'button',
    { class: 'desktop-toggle', type: 'button' },
    'Enable desktop notifications',
  );
  /** The selected tab: a category, ALL or SNOOZED. */
  private tab: Tab = ALL;
  /** Marked unread here while the list is open: not marked seen again until it is reopened. */
  private readonly keptUnread = new Set<string>();
  /** The card whose snooze menu is open, if any. */
  private snoozeMenu?: HTMLElement;
  private readonly empty = h('p', { class: 'empty' }, 'You are all caught up.');
  private readonly problem = h('p', { class: 'problem', hidden: '' });
  private readonly attention = h('section', { class: 'attention', 'aria-live': 'polite' });
  private readonly toasts = h('div', { class: 'toasts', 'aria-live': 'polite' });
  private readonly signIn = h('form', { class: 'sign-in', hidden: '' });
  private readonly cards = new Map<string, { key: string; element: HTMLElement }>();
  /** Marks a card seen once it is actually on screen, not merely in the list. */
  private readonly observer = new IntersectionObserver((entries) => this.onShown(entries), {
    root: this.list,
    threshold: 0.6,
  });

  constructor(
    root: HTMLElement,
    private readonly actions: Actions,
    private readonly options: ViewOptions = {},
  ) {
    this.bell.innerHTML = BELL_SVG;
    this.bell.append(this.badge);
    this.bell.setAttribute('aria-haspopup', 'true');
    this.bell.addEventListener('click', () => this.toggle());
    const markAll = h('button', { class: 'mark-all', type: 'button' }, 'Mark all seen');
    markAll.addEventListener('click', () => actions.markAllSeen());
    this.clearAll.addEventListener('click', (event) => {
      event.stopPropagation();
      // Clears the tab in view: its category, the snoozed ones, or everything (what awaits an
      // ack stays).
      actions.archiveAll(clearFilter(this.tab));
    });
    this.dropdown.setAttribute('aria-label', 'Notifications');
    this.dropdown.append(
      h('header', {}, h('h2', {}, 'Notifications'), h('div', {}, markAll, this.clearAll)),
      this.tabs,
      this.problem,
      this.list,
      this.empty,
    );
    // Asked for only from this click, never on load (browsers block prompts nobody asked for).
    this.desktop.addEventListener('click', () => void this.enableDesktop());
    this.showDesktopChoice();
    const tokenInput = h('textarea', { name: 'token', rows: '3', required: '' });
    this.signIn.append(
      h('h2', {}, 'Sign in'),
      h('p', { class: 'why' }),
      h('label', {}, 'User token (JWT)', tokenInput),
      h('button', { type: 'submit' }, 'Continue'),
    );
    this.signIn.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = (tokenInput as HTMLTextAreaElement).value.trim();
      if (token) actions.signIn(token);
    });
    root.append(
      h(
        'header',
        { class: 'app-bar' },
        h('strong', { class: 'app-name' }, 'Acme Projects'),
        this.status,
        this.desktop,
        h('div', { class: 'bell-wrap' }, this.bell, this.dropdown),
      ),
      this.attention,
      this.signIn,
      h(
        'main',
        { class: 'app-body' },
        h('h1', {}, 'Your projects'),
        h('p', {}, 'The rest of the application goes here; the bell is the notification centre.'),
      ),
      this.toasts,
    );
    document.addEventListener('click', (event) => {
      if (!this.dropdown.parentElement!.contains(event.target as Node)) this.close();
      else if (this.snoozeMenu && !this.snoozeMenu.contains(event.target as Node)) {
        this.closeSnoozeMenu();
      }
    });
    document.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      // An URGENT dialog stays until it is acknowledged: Escape closes only the list.
      if (this.snoozeMenu) this.closeSnoozeMenu();
      else this.close();
    });
    // Relative times ("2 min ago") age while the page is open.
    setInterval(() => this.state && this.render(this.state), 30_000);
  }

  render(state: ViewState): void {
    this.state = state;
    document.body.dataset.status = state.status;
    this.status.textContent = STATUS_TEXT[state.status];
    this.status.className = `status status-${state.status}`;
    this.badge.textContent = String(state.unseenCount);
    this.badge.hidden = state.unseenCount === 0;
    this.bell.setAttribute('aria-label', `Notifications, ${state.unseenCount} unseen`);
    this.problem.textContent = state.problem ?? '';
    this.problem.hidden = !state.problem;

    const current = state.notifications.filter(
      (n) => !n.expiresAt || Date.parse(n.expiresAt) > Date.now(),
    );
    const categories = Object.keys(state.categoryCounts).sort();
    // A category that is gone takes the user back to "All".
    if (typeof this.tab === 'string' && !categories.includes(this.tab)) this.tab = ALL;
    this.renderTabs(state, categories);
    const shown =
      this.tab === SNOOZED
        ? state.snoozed
        : current.filter((n) => this.tab === ALL || n.category === this.tab);
    this.renderCards(shown);
    this.empty.hidden = shown.length > 0;
    this.empty.textContent = this.tab === SNOOZED ? 'Nothing snoozed.' : 'You are all caught up.';
    const what = this.tab === ALL ? '' : this.tab === SNOOZED ? 'snoozed ' : `${this.tab} `;
    this.clearAll.setAttribute('aria-label', `Clear all ${what}notifications`);
    this.dropToasts(current);
    const needsAck = current.filter((n) => n.requireAck && !n.acknowledgedAt);
    const attentionKey = needsAck.map((n) => n.id).join();
    // Rebuilt only when its items change, so a click under way is not lost to an update.
    if (this.attention.dataset.key !== attentionKey) {
      this.attention.dataset.key = attentionKey;
      this.renderAttention(needsAck);
    }

    const signedIn = state.status !== 'signed-out' && state.status !== 'expired';
    this.signIn.hidden = signedIn;
    this.signIn.querySelector('.why')!.textContent =
      state.status === 'expired'
        ? 'Your session expired. Sign in again to keep receiving notifications.'
        : 'Paste a user token: `npm start` prints one for development.';
  }

  /** A new notification (or one back from a snooze), shown by its importance. */
  notify(notification: Notification): void {
    const important = notification.priority === 'HIGH' || notification.priority === 'URGENT';
    // A hidden tab cannot show a toast: an important one reaches the user on the desktop.
    if (document.visibilityState === 'hidden') {
      if (important) this.desktopNotification(notification);
      return;
    }
    this.toast(notification);
  }

  toast(notification: Notification): void {
    // No toast in a hidden tab (the visible one shows it) nor over the open list (it is in it).
    if (document.visibilityState !== 'visible' || !this.dropdown.hidden) return;
    const toast = h(
      'button',
      {
        class: `toast priority-${notification.priority.toLowerCase()}`,
        type: 'button',
        'data-id': notification.id,
      },
      icon(notification),
      h(
        'span',
        {},
        h('small', {}, notification.category),
        h('strong', {}, notification.title),
        notification.body ?? '',
      ),
    );
    toast.addEventListener('click', (event) => {
      event.stopPropagation();
      toast.remove();
      this.open();
    });
    this.toasts.prepend(toast);
    while (this.toasts.children.length > 3) this.toasts.lastElementChild!.remove();
    setTimeout(() => toast.remove(), notification.priority === 'URGENT' ? 12_000 : 6000);
  }

  /** A toast goes with its notification: dismissed, snoozed, recalled or folded into a newer one. */
  private dropToasts(listed: Notification[]): void {
    const ids = new Set(listed.map((n) => n.id));
    for (const toast of this.toasts.querySelectorAll<HTMLElement>('.toast')) {
      if (!ids.has(toast.dataset.id!)) toast.remove();
    }
  }

  /**
   * "All" and a tab per category, each with its unseen count from the service, and "Snoozed"
   * with how many are snoozed.
   */
  private renderTabs(state: ViewState, categories: string[]): void {
    const entries: [Tab, string, number][] = [
      [ALL, 'All', state.unseenCount],
      ...categories.map((c): [Tab, string, number] => [c, c, state.categoryCounts[c] ?? 0]),
      [SNOOZED, 'Snoozed', state.snoozed.length],
    ];
    // JSON writes a symbol as null: the Snoozed tab's flag tells it from the others.
    const key = JSON.stringify([this.tab === SNOOZED, this.tab, entries]);
    if (this.tabs.dataset.key === key) return;
    this.tabs.dataset.key = key;
    this.tabs.replaceChildren(
      ...entries.map(([value, label, count]) => {
        const selected = value === this.tab;
        const tab = h(
          'button',
          {
            class: 'tab',
            type: 'button',
            role: 'tab',
            ...(value === SNOOZED
              ? { 'data-view': 'snoozed', 'aria-label': `Snoozed, ${count}` }
              : { 'data-tab': value || 'all', 'aria-label': `${label}, ${count} unseen` }),
            'aria-selected': String(selected),
            tabindex: selected ? '0' : '-1',
          },
          h('span', { class: 'tab-name' }, label),
          h('span', { class: 'tab-count', 'aria-hidden': 'true' }, String(count)),
        );
        tab.addEventListener('click', (event) => {
          event.stopPropagation();
          this.tab = value;
          if (this.state) this.render(this.state);
        });
        return tab;
      }),
    );
  }

  /** Require-ack ones in a banner; as a modal dialog while one of them is URGENT. */
  private renderAttention(needsAck: Notification[]): void {
    const modal = needsAck.some((n) => n.priority === 'URGENT');
    const items = needsAck.map((n) => this.attentionItem(n));
    this.attention.classList.toggle('modal', modal);
    if (!modal) {
      this.attention.removeAttribute('role');
      this.attention.removeAttribute('aria-modal');
      this.attention.removeAttribute('aria-labelledby');
      this.attention.replaceChildren(...items);
      return;
    }
    this.attention.setAttribute('role', 'dialog');
    this.attention.setAttribute('aria-modal', 'true');
    this.attention.setAttribute('aria-labelledby', 'attention-heading');
    const box = h(
      'div',
      { class: 'dialog-box' },
      h('h2', { id: 'attention-heading' }, 'Action required'),
      ...items,
    );
    this.attention.replaceChildren(box);
    // Focus goes into the dialog, on its first answer.
    box.querySelector<HTMLElement>('.acknowledge')?.focus();
  }

  private renderCards(notifications: Notification[]): void {
    const elements = notifications.map((n) => {
      // A card is rebuilt only when what it shows changed, so the observer and focus stay put.
      const wakes = n.snoozedUntil && wakeTime(n.snoozedUntil);
      const shows = [n.title, n.body, n.editedAt, n.groupCount, wakes];
      const key = JSON.stringify([n.seenAt, n.acknowledgedAt, relativeTime(n.createdAt), shows]);
      const cached = this.cards.get(n.id);
      if (cached?.key === key) return cached.element;
      if (cached) this.observer.unobserve(cached.element);
      const element = this.card(n);
      this.cards.set(n.id, { key, element });
      this.observer.observe(element);
      return element;
    });
    const ids = new Set(notifications.map((n) => n.id));
    for (const [id, { element }] of this.cards) {
      if (ids.has(id)) continue;
      this.observer.unobserve(element);
      this.cards.delete(id);
    }
    const unchanged =
      elements.length === this.list.children.length &&
      elements.every((element, index) => this.list.children[index] === element);
    if (!unchanged) this.list.replaceChildren(...elements);
  }

  private card(n: Notification): HTMLElement {
    const actions = h('div', { class: 'actions' });
    const link = safeUrl(n.actionUrl);
    if (link) actions.append(h('a', { href: link }, 'Open'));
    if (n.requireAck && !n.acknowledgedAt) {
      actions.append(
        this.button('Acknowledge', 'acknowledge', () => this.actions.acknowledge(n.id)),
      );
    } else {
      actions.append(
        this.button('Dismiss', 'dismiss', () => this.actions.archive([n.id]), `Dismiss ${n.title}`),
      );
      if (n.seenAt && !n.snoozedUntil) {
        actions.append(
          this.button(
            'Mark unread',
            'mark-unread',
            () => {
              this.keptUnread.add(n.id);
              this.actions.markUnseen([n.id]);
            },
            `Mark ${n.title} unread`,
          ),
        );
      }
    }
    actions.append(this.snoozeButton(n));
    const classes = ['card', `priority-${n.priority.toLowerCase()}`];
    if (!n.seenAt) classes.push('unseen');
    if (n.requireAck && !n.acknowledgedAt) classes.push('needs-ack');
    return h(
      'li',
      { class: classes.join(' '), 'data-id': n.id },
      icon(n),
      h(
        'div',
        { class: 'content' },
        h(
          'div',
          { class: 'meta' },
          h('span', { class: 'category' }, n.category),
          n.priority === 'URGENT' || n.priority === 'HIGH'
            ? h('span', { class: 'priority' }, n.priority)
            : '',
          n.groupCount > 1 ? h('span', { class: 'group-count' }, `${n.groupCount} updates`) : '',
          h('time', { datetime: n.createdAt }, relativeTime(n.createdAt)),
          n.editedAt
            ? h('span', { class: 'edited', title: `Edited ${relativeTime(n.editedAt)}` }, 'edited')
            : '',
        ),
        n.snoozedUntil
          ? h(
              'time',
              { class: 'wakes', datetime: n.snoozedUntil },
              `Back ${wakeTime(n.snoozedUntil)}`,
            )
          : '',
        h('strong', { class: 'title' }, n.title),
        n.body ? h('p', { class: 'body' }, n.body) : '',
        actions,
      ),
    );
  }

  private attentionItem(n: Notification): HTMLElement {
    return h(
      'div',
      { class: `attention-item priority-${n.priority.toLowerCase()}`, 'data-id': n.id },
      icon(n),
      h('div', {}, h('strong', {}, n.title), n.body ? h('p', {}, n.body) : ''),
      this.button('Acknowledge', 'acknowledge', () => this.actions.acknowledge(n.id)),
    );
  }

  /** "Snooze" and its menu: back in an hour, tomorrow at 9:00 (and the quick one, if asked). */
  private snoozeButton(n: Notification): HTMLElement {
    const wrap = h('span', { class: 'snooze' });
    const button = h(
      'button',
      {
        class: 'snooze-button',
        type: 'button',
        'aria-haspopup': 'menu',
        'aria-expanded': 'false',
        'aria-label': `Snooze ${n.title}`,
      },
      'Snooze',
    );
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      const open = this.snoozeMenu === wrap;
      this.closeSnoozeMenu();
      if (open) return;
      const menu = h('div', { class: 'snooze-menu', role: 'menu', 'aria-label': 'Snooze until' });
      for (const [label, until] of snoozeChoices(this.options.quickSnoozeSeconds)) {
        const item = h('button', { type: 'button', role: 'menuitem' }, label);
        item.addEventListener('click', (clicked) => {
          clicked.stopPropagation();
          this.closeSnoozeMenu();
          this.actions.snooze(n.id, until().toISOString());
        });
        menu.append(item);
      }
      wrap.append(menu);
      button.setAttribute('aria-expanded', 'true');
      this.snoozeMenu = wrap;
      menu.querySelector<HTMLElement>('[role=menuitem]')?.focus();
    });
    wrap.append(button);
    return wrap;
  }

  private closeSnoozeMenu(): void {
    this.snoozeMenu?.querySelector('.snooze-menu')?.remove();
    this.snoozeMenu?.querySelector('.snooze-button')?.setAttribute('aria-expanded', 'false');
    this.snoozeMenu = undefined;
  }

  /** Whether the user turned desktop notifications on here (and the browser allows them). */
  private desktopEnabled(): boolean {
    return (
      'Notification' in window &&
      Notification.permission === 'granted' &&
      localStorage.getItem(DESKTOP_KEY) === 'on'
    );
  }

  private showDesktopChoice(): void {
    const supported = 'Notification' in window;
    this.desktop.hidden = !supported;
    if (!supported) return;
    const on = this.desktopEnabled();
    const denied = Notification.permission === 'denied';
    this.desktop.textContent = on
      ? 'Desktop notifications on'
      : denied
        ? 'Desktop notifications blocked'
        : 'Enable desktop notifications';
    this.desktop.setAttribute('aria-pressed', String(on));
    (this.desktop as HTMLButtonElement).disabled = denied;
  }

  private async enableDesktop(): Promise<void> {
    if (this.desktopEnabled()) {
      localStorage.setItem(DESKTOP_KEY, 'off');
    } else {
      const permission = await Notification.requestPermission();
      localStorage.setItem(DESKTOP_KEY, permission === 'granted' ? 'on' : 'off');
    }
    this.showDesktopChoice();
  }

  private desktopNotification(n: Notification): void {
    if (!this.desktopEnabled()) return;
    try {
      // One per notification however many tabs are hidden: the tag makes the browser keep one.
      const shown = new Notification(n.title, {
        body: n.body ?? '',
        tag: n.id,
        requireInteraction: n.priority === 'URGENT',
      });
      shown.onclick = () => {
        window.focus();
        this.open();
        shown.close();
      };
    } catch {
      // Some browsers (Chrome on Android) allow them only from a service worker.
    }
  }

  private button(
    label: string,
    className: string,
    onClick: () => void,
    ariaLabel?: string,
  ): HTMLElement {
    const button = h('button', { class: className, type: 'button' }, label);
    if (ariaLabel) button.setAttribute('aria-label', ariaLabel);
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      onClick();
    });
    return button;
  }

  private onShown(entries: IntersectionObserverEntry[]): void {
    if (this.dropdown.hidden || document.visibilityState !== 'visible') return;
    const ids = entries
      .filter((entry) => entry.isIntersecting)
      .map((entry) => (entry.target as HTMLElement).dataset.id!)
      .filter((id) => !this.keptUnread.has(id))
      .filter((id) => this.state?.notifications.find((n) => n.id === id)?.seenAt === null);
    if (ids.length > 0) this.actions.markSeen(ids);
  }

  private toggle(): void {
    if (this.dropdown.hidden) this.open();
    else this.close();
  }

  private open(): void {
    this.toasts.replaceChildren();
    this.dropdown.hidden = false;
    this.bell.setAttribute('aria-expanded', 'true');
  }

  private close(): void {
    this.keptUnread.clear();
    this.closeSnoozeMenu();
    this.dropdown.hidden = true;
    this.bell.setAttribute('aria-expanded', 'false');
  }
}

/** What "Clear all" archives: what the tab in view shows. */
function clearFilter(tab: Tab): NotificationFilter {
  if (tab === SNOOZED) return { status: 'SNOOZED' };
  return tab === ALL ? {} : { categories: [tab] };
}

/** The snooze menu's choices: a label and when it would be back. */
function snoozeChoices(quickSeconds?: number): [string, () => Date][] {
  const choices: [string, () => Date][] = [
    ['In 1 hour', () => new Date(Date.now() + 3_600_000)],
    [
      'Tomorrow at 9:00',
      () => {
        const at = new Date();
        at.setDate(at.getDate() + 1);
        at.setHours(9, 0, 0, 0);
        return at;
      },
    ],
  ];
  if (quickSeconds) {
    choices.unshift([
      `In ${quickSeconds} seconds`,
      () => new Date(Date.now() + quickSeconds * 1000),
    ]);
  }
  return choices;
}

function icon(n: Notification): HTMLElement {
  const url = safeUrl(n.icon);
  if (url) return h('img', { class: 'icon', src: url, alt: '' });
  const glyph = n.priority === 'URGENT' ? '!' : (n.category[0]?.toUpperCase() ?? '•');
  return h('span', { class: 'icon glyph', 'aria-hidden': 'true' }, glyph);
}

/** http(s) URLs and paths only: a `javascript:` link from a sender must never become clickable. */
function safeUrl(url: string | null): string | null {
  if (!url) return null;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  return /^https?:\/\//i.test(url) ? url : null;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** When a snoozed one is back: "at 14:05" today, else with its day. */
function wakeTime(iso: string): string {
  const at = new Date(iso);
  const today = at.toDateString() === new Date().toDateString();
  return today ? `at ${timeOfDay.format(at)}` : `on ${dayAndTime.format(at)}`;
}

function relativeTime(iso: string): string {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (seconds > -45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes > -60) return relative.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours > -24) return relative.format(hours, 'hour');
  return relative.format(Math.round(hours / 24), 'day');
}

function h(
  tag: string,
  attributes: Record<string, string>,
  ...children: (Node | string)[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}
