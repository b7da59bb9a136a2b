import type { InboxStatus, Notification, NotificationFilter } from '../../../packages/client/src';

// What the tabs and the hub (in the SharedWorker, or in the tab without one) say to each other
// over a MessagePort. Plain data only: it is copied between threads.

export type { Notification, NotificationFilter };

/** The store's status, or no token yet. */
export type Status = InboxStatus | 'signed-out';

/** Everything a tab draws; the hub sends a fresh copy to every tab after each change. */
export interface InboxState {
  status: Status;
  /** The server's count from the latest answer or event: exact, never worked out here. */
  unseenCount: number;
  /** Unseen per category, every category (0 included): the tabs and their badges. */
  categoryCounts: Record<string, number>;
  /** Newest first: what needs attention, and the seen ones shown since. */
  notifications: Notification[];
  /** Snoozed, soonest back first: each comes back by itself when due. */
  snoozed: Notification[];
  /** The last event cursor; reconnects resume from it. */
  cursor: string | null;
  /** Something that went wrong and that the user should know about. */
  problem: string | null;
}

/** The state before a token: what a tab draws until the hub says otherwise. */
export const signedOutState = (): InboxState => ({
  status: 'signed-out',
  unseenCount: 0,
  categoryCounts: {},
  notifications: [],
  snoozed: [],
  cursor: null,
  problem: null,
});

/** What a tab asks of the hub. */
export type Command =
  | { type: 'start'; server: string; token: string }
  | { type: 'markSeen'; ids: string[] }
  | { type: 'markAllSeen' }
  | { type: 'acknowledge'; id: string }
  | { type: 'archive'; ids: string[] }
  | { type: 'archiveAll'; filter: NotificationFilter }
  | { type: 'markUnseen'; ids: string[] }
  | { type: 'snooze'; id: string; until: string }
  | { type: 'leave' };

/**
 * What the hub got from the service, before it merges anything in (the view shows each
 * notification once whatever arrives). Tabs pass it on as an `inbox:received` DOM event, for
 * whoever wants to watch the stream itself: a debugging tool, or a test counting repeats.
 */
export interface Received {
  /** Which hub: one per SharedWorker, or per tab where there is none. */
  hub: string;
  /** The hub's count: copies of one broadcast in several tabs share it; a repeat does not. */
  seq: number;
  /** The snapshot's unseen notifications, or one event of the stream. */
  from: 'snapshot' | 'event';
  eventType?: string;
  ids: string[];
}

/** What the hub tells the tabs. */
export type Update =
  | { type: 'state'; state: InboxState }
  | { type: 'toast'; notification: Notification }
  | { type: 'received'; received: Received };
