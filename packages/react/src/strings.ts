import type { InboxStatus } from '@notifications/client';

// Every word <Inbox /> shows, so an app can translate or reword them: pass the ones to change.

export interface InboxStrings {
  title: string;
  /** The bell's accessible name. */
  bell: (unseen: number) => string;
  markAllSeen: string;
  acknowledge: string;
  /** The link to a notification's actionUrl. */
  open: string;
  empty: string;
  /** When a notification was sent, as the card shows it. */
  time: (iso: string) => string;
  /** A line above the list while the inbox is not live; none for `live`. */
  status: Record<Exclude<InboxStatus, 'live'>, string>;
}

export const defaultStrings: InboxStrings = {
  title: 'Notifications',
  bell: (unseen) => (unseen === 0 ? 'Notifications' : `Notifications, ${unseen} unseen`),
  markAllSeen: 'Mark all as seen',
  acknowledge: 'Acknowledge',
  open: 'Open',
  empty: 'You are all caught up.',
  time: (iso) => new Date(iso).toLocaleString(),
  status: {
    connecting: 'Connecting…',
    reconnecting: 'Offline: reconnecting…',
    expired: 'Your session has expired: sign in again.',
    failed: 'Notifications are unavailable.',
    closed: 'Notifications are off.',
  },
};

/** The defaults with the app's changes; `status` may be given in part too. */
export function withDefaults(strings: InboxStringChanges = {}): InboxStrings {
  return {
    ...defaultStrings,
    ...strings,
    status: { ...defaultStrings.status, ...strings.status },
  };
}

export type InboxStringChanges = Partial<Omit<InboxStrings, 'status'>> & {
  status?: Partial<InboxStrings['status']>;
};
