import type { Notification } from '@notifications/client';
import { useId, useRef, useState } from 'react';
import { useInboxClient } from './context.js';
import { useInbox, useNotifications, useUnseenCount } from './hooks.js';
import { useMarkSeenWhenShown } from './mark-seen.js';
import { withDefaults, type InboxStringChanges, type InboxStrings } from './strings.js';

// A bell with the exact unseen count and a panel of notifications. It has no styles of its own:
// class names (ni-*) and data- attributes to style, and @notifications/react/theme.css as a
// light and a dark theme to start from.

export interface InboxProps {
  /** Words to change; the others stay as in `defaultStrings`. */
  strings?: InboxStringChanges;
  /** `auto` follows the system (prefers-color-scheme); theme.css reads it as data-theme. */
  theme?: 'auto' | 'light' | 'dark';
  /** Open at first (the panel opens and closes with the bell). */
  defaultOpen?: boolean;
  className?: string;
}

export function Inbox({ strings, theme = 'auto', defaultOpen = false, className }: InboxProps) {
  const words = withDefaults(strings);
  const unseen = useUnseenCount();
  const status = useInbox((state) => state.status);
  const [open, setOpen] = useState(defaultOpen);
  const panelId = useId();
  return (
    <div
      className={className ? `ni-inbox ${className}` : 'ni-inbox'}
      data-theme={theme}
      data-status={status}
      onKeyDown={(event) => event.key === 'Escape' && setOpen(false)}
    >
      <button
        type="button"
        className="ni-bell"
        aria-label={words.bell(unseen)}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        <BellIcon />
        {unseen > 0 && (
          <span className="ni-badge" aria-hidden="true">
            {unseen > 99 ? '99+' : unseen}
          </span>
        )}
      </button>
      {open && <Panel id={panelId} words={words} />}
    </div>
  );
}

function Panel({ id, words }: { id: string; words: InboxStrings }) {
  const inbox = useInboxClient();
  const notifications = useNotifications();
  const unseen = useUnseenCount();
  const status = useInbox((state) => state.status);
  const list = useRef<HTMLUListElement>(null);
  useMarkSeenWhenShown(inbox, list, notifications);
  return (
    <section id={id} className="ni-panel" aria-label={words.title}>
      <header className="ni-header">
        <h2 className="ni-title">{words.title}</h2>
        <button
          type="button"
          className="ni-mark-all"
          disabled={unseen === 0}
          onClick={() => void inbox.markAllSeen().catch(() => {})}
        >
          {words.markAllSeen}
        </button>
      </header>
      {status !== 'live' && (
        <p className="ni-status" role="status">
          {words.status[status]}
        </p>
      )}
      {notifications.length === 0 ? (
        <p className="ni-empty">{words.empty}</p>
      ) : (
        <ul className="ni-list" ref={list}>
          {notifications.map((notification) => (
            <Card key={notification.id} notification={notification} words={words} />
          ))}
        </ul>
      )}
    </section>
  );
}

function Card({ notification: n, words }: { notification: Notification; words: InboxStrings }) {
  const inbox = useInboxClient();
  const needsAck = n.requireAck && !n.acknowledgedAt;
  return (
    <li
      className="ni-item"
      data-id={n.id}
      data-priority={n.priority.toLowerCase()}
      data-unseen={n.seenAt === null ? '' : undefined}
      data-needs-ack={needsAck ? '' : undefined}
    >
      {n.icon && <img className="ni-icon" src={n.icon} alt="" />}
      <div className="ni-content">
        <p className="ni-item-title">{n.title}</p>
        {n.body && <p className="ni-body">{n.body}</p>}
        <p className="ni-meta">
          <time dateTime={n.createdAt}>{words.time(n.createdAt)}</time>
          {n.actionUrl && (
            <a className="ni-action" href={n.actionUrl}>
              {words.open}
            </a>
          )}
        </p>
      </div>
      {needsAck && (
        <button
          type="button"
          className="ni-ack"
          onClick={() => void inbox.acknowledge(n.id).catch(() => {})}
        >
          {words.acknowledge}
        </button>
      )}
    </li>
  );
}

function BellIcon() {
  return (
    <svg className="ni-bell-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
      />
    </svg>
  );
}
