// What the package hands to an app: the shapes of the service's answers it keeps, and the store's
// state. Written out here rather than generated, so the package needs no codegen to install.

export type Priority = 'LOW' | 'NORMAL' | 'HIGH' | 'URGENT';

export interface Notification {
  id: string;
  category: string;
  priority: Priority;
  title: string;
  body: string | null;
  data: unknown;
  icon: string | null;
  actionUrl: string | null;
  createdAt: string;
  expiresAt: string | null;
  deleteAt: string;
  requireAck: boolean;
  public: boolean;
  seenAt: string | null;
  acknowledgedAt: string | null;
  /** When the user archived (dismissed) it; null: not archived. */
  archivedAt: string | null;
  /** Snoozed until then: out of the list and the counts until the service's UNSNOOZED. */
  snoozedUntil: string | null;
  /** When it or the user's own state of it last changed: an older answer never undoes a newer. */
  updatedAt: string;
  /** When its sender last changed its content (an UPDATED event brings it); null: never. */
  editedAt: string | null;
  /** The thread it belongs to, if its sender gave one. */
  groupKey: string | null;
  /** How many notifications of its thread it stands for (1 when it folded none). */
  groupCount: number;
}

/** Which notifications an operation applies to; each field left out matches all. */
export interface NotificationFilter {
  categories?: string[];
  priorities?: Priority[];
  /** UNSEEN, SEEN, SNOOZED, ARCHIVED or ALL (archiveAll takes ALL, SEEN or SNOOZED). */
  status?: NotificationStatus;
}

export type NotificationStatus = 'UNSEEN' | 'SEEN' | 'SNOOZED' | 'ARCHIVED' | 'ALL';

export type NotificationEventType =
  | 'CREATED'
  | 'DIGEST'
  | 'SEEN'
  | 'ACKNOWLEDGED'
  | 'ALL_SEEN'
  | 'DELETED'
  | 'UNSEEN'
  | 'ARCHIVED'
  | 'UNARCHIVED'
  | 'ALL_ARCHIVED'
  | 'SNOOZED'
  | 'UNSNOOZED'
  | 'UPDATED';

/** One event of `myNotifications`, as the service sends it. */
export interface NotificationEvent {
  type: NotificationEventType;
  /** Where the stream stands after this event: the store resumes from the latest one. */
  cursor: string;
  /** The service's unseen count once this event has happened. */
  unseenCount: number;
  notification: Notification;
  /** For a DIGEST, every notification it gathers, oldest first; otherwise [notification]. */
  notifications: Notification[];
  /** The earlier notification of its thread this one takes the place of (it leaves the lists). */
  replaces: string | null;
}

/**
 * connecting: loading the snapshot or opening the socket; live: following events; reconnecting:
 * the socket or the service is away, retrying with a back-off; expired: the token was refused,
 * nothing is retried until `reconnect()`; failed: the service closed for good (see `problem`);
 * closed: `close()` was called.
 */
export type InboxStatus = 'connecting' | 'live' | 'reconnecting' | 'expired' | 'failed' | 'closed';

export interface InboxState {
  status: InboxStatus;
  /** Unseen notifications (and seen, unacknowledged require-ack ones), newest first. */
  notifications: Notification[];
  /** The service's count from the snapshot or the latest event: exact, never counted here. */
  unseenCount: number;
  /**
   * Unseen per category (every category, 0 included): the snapshot's counts, each event moving
   * its notification's category by what it moved `unseenCount`; they always add up to it.
   */
  categoryCounts: Record<string, number>;
  /** Snoozed notifications, soonest back first: each returns to `notifications` when due. */
  snoozed: Notification[];
  /** The last event's cursor (or the snapshot's): every reconnect resumes from it. */
  cursor: string | null;
  /** The history pages `loadMore()` has loaded, seen ones too, newest first. */
  history: Notification[];
  /** Whether `loadMore()` has more to load. */
  hasMore: boolean;
  /** What went wrong last, for the user; null when all is well. */
  problem: string | null;
  /** Every category with the user's choice, once `loadPreferences()` has loaded them; else null. */
  preferences: CategoryChoice[] | null;
}

/** The snapshot the store starts from (and reloads when its cursor is too old to resume). */
export interface Snapshot {
  notifications: Notification[];
  unseenCount: number;
  categoryCounts: Record<string, number>;
  snoozed: Notification[];
  cursor: string;
}

export interface CategoryPreference {
  category: string;
  muted: boolean;
}

/** A category as a preferences screen shows it: muted or not, and whether it may be muted. */
export interface CategoryChoice {
  category: string;
  muted: boolean;
  /** False for categories that require acknowledgement: the service refuses to mute them. */
  canMute: boolean;
}

export interface InboxEvents {
  /**
   * A notification that arrived live (CREATED, or each of a DIGEST), or came back from a snooze
   * (UNSNOOZED): for a toast.
   */
  notification: Notification;
  /** Every event received, before repeats are merged away: for logging or checking the stream. */
  event: NotificationEvent;
  /**
   * A snapshot was loaded: at the start, after `reconnect()`, after CURSOR_EXPIRED, and after an
   * event that changes many at once (ALL_SEEN, ALL_ARCHIVED) or a change of mutes.
   */
  snapshot: Snapshot;
}

/**
 * Where an event came from: every `on` listener is given it after the value. `store` names the
 * store that emitted it (each `createInbox` its own, at random; with `createSharedInbox`, the one
 * the tabs share, so a new one when another tab or a new worker starts it again), `seq` counts
 * that store's events from 1. Tabs that hear one event of a shared store get the same pair;
 * a notification in two pairs arrived twice. For debugging a stream, or a test of one.
 */
export interface EventOrigin {
  store: string;
  seq: number;
}
