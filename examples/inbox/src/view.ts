import type { InboxState, Notification, Status } from './protocol';

// The notification centre drawn from the hub's state: a bell with the count, a dropdown of cards,
// a banner for what must be acknowledged, toasts, and a sign-in panel. Notification text is only
// ever set as text, never as HTML: it comes from other services.

export interface Actions {
  markSeen(ids: string[]): void;
  markAllSeen(): void;
  acknowledge(id: string): void;
  dismiss(id: string): void;
  signIn(token: string): void;
}

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
  private state?: InboxState;
  private readonly bell = h('button', { class: 'bell', type: 'button' });
  private readonly badge = h('span', { class: 'badge' });
  private readonly status = h('span', { class: 'status' });
  private readonly dropdown = h('section', { class: 'dropdown', hidden: '' });
  private readonly list = h('ol', { class: 'cards' });
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
  ) {
    this.bell.innerHTML = BELL_SVG;
    this.bell.append(this.badge);
    this.bell.addEventListener('click', () => this.toggle());
    const markAll = h('button', { class: 'mark-all', type: 'button' }, 'Mark all seen');
    markAll.addEventListener('click', () => actions.markAllSeen());
    this.dropdown.append(
      h('header', {}, h('h2', {}, 'Notifications'), markAll),
      this.problem,
      this.list,
      this.empty,
    );
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
    });
    document.addEventListener('keydown', (event) => event.key === 'Escape' && this.close());
    // Relative times ("2 min ago") age while the page is open.
    setInterval(() => this.state && this.render(this.state), 30_000);
  }

  render(state: InboxState): void {
    this.state = state;
    document.body.dataset.status = state.status;
    this.status.textContent = STATUS_TEXT[state.status];
    this.status.className = `status status-${state.status}`;
    this.badge.textContent = String(state.unseenCount);
    this.badge.hidden = state.unseenCount === 0;
    this.bell.setAttribute('aria-label', `Notifications, ${state.unseenCount} unseen`);
    this.problem.textContent = state.problem ?? '';
    this.problem.hidden = !state.problem;

    const shown = state.notifications.filter(
      (n) => !n.expiresAt || Date.parse(n.expiresAt) > Date.now(),
    );
    this.renderCards(shown);
    this.empty.hidden = shown.length > 0;
    const needsAck = shown.filter((n) => n.requireAck && !n.acknowledgedAt);
    const attentionKey = needsAck.map((n) => n.id).join();
    // Rebuilt only when its items change, so a click under way is not lost to an update.
    if (this.attention.dataset.key !== attentionKey) {
      this.attention.dataset.key = attentionKey;
      this.attention.replaceChildren(...needsAck.map((n) => this.attentionItem(n)));
    }

    const signedIn = state.status !== 'signed-out' && state.status !== 'expired';
    this.signIn.hidden = signedIn;
    this.signIn.querySelector('.why')!.textContent =
      state.status === 'expired'
        ? 'Your session expired. Sign in again to keep receiving notifications.'
        : 'Paste a user token: `npm start` prints one for development.';
  }

  toast(notification: Notification): void {
    // No toast in a hidden tab (the visible one shows it) nor over the open list (it is in it).
    if (document.visibilityState !== 'visible' || !this.dropdown.hidden) return;
    const toast = h(
      'button',
      { class: `toast priority-${notification.priority.toLowerCase()}`, type: 'button' },
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

  private renderCards(notifications: Notification[]): void {
    const elements = notifications.map((n) => {
      // A card is rebuilt only when what it shows changed, so the observer and focus stay put.
      const key = `${n.seenAt}|${n.acknowledgedAt}|${relativeTime(n.createdAt)}`;
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
      actions.append(this.button('Dismiss', 'dismiss', () => this.actions.dismiss(n.id)));
    }
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
          h('time', { datetime: n.createdAt }, relativeTime(n.createdAt)),
        ),
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

  private button(label: string, className: string, onClick: () => void): HTMLElement {
    const button = h('button', { class: className, type: 'button' }, label);
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
    this.dropdown.hidden = true;
    this.bell.setAttribute('aria-expanded', 'false');
  }
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
