import { createClient, type Client } from 'graphql-ws';
import { backoff } from './backoff.js';
import { CLOSE, type CloseCode } from './close-codes.js';
import { Emitter, reportLater } from './emitter.js';
import { InboxError, postGraphQL } from './http.js';
import { randomId } from './random-id.js';
import {
  ACKNOWLEDGE,
  ARCHIVE,
  ARCHIVE_ALL,
  EVENTS,
  HISTORY,
  MARK_ALL_SEEN,
  MARK_SEEN,
  MARK_UNSEEN,
  PREFERENCES,
  SET_MUTED,
  SNAPSHOT,
  SNOOZE,
  UNARCHIVE,
} from './operations.js';
import type {
  CategoryChoice,
  CategoryPreference,
  EventOrigin,
  InboxEvents,
  InboxState,
  Notification,
  NotificationEvent,
  NotificationFilter,
} from './types.js';

// The store: loads the snapshot, follows myNotifications from its cursor, resumes from the latest
// cursor after every reconnect, and keeps the state an app draws. One socket per store.

export interface InboxOptions {
  /** The service's GraphQL endpoint over HTTP(S), e.g. https://notifications.example/graphql. */
  url: string;
  /** Called before every request and every socket connection: return a token that is valid now. */
  getToken: () => string | Promise<string>;
  /** The socket's URL; by default `url` with ws: or wss:. */
  wsUrl?: string;
  /** A WebSocket class where there is no global one (Node before 22: the `ws` package). */
  webSocketImpl?: unknown;
  fetch?: typeof fetch;
  /** How many unseen notifications the snapshot loads (the service allows at most 1000). */
  snapshotLimit?: number;
  /** Milliseconds before retry number `retries` (0 for the first); exponential with jitter. */
  retryDelay?: (retries: number) => number;
}

export interface Inbox {
  getState(): InboxState;
  /** Called after every change with the new state; returns the unsubscribe. */
  subscribe(listener: (state: InboxState) => void): () => void;
  /** Each listener is also told which store the event came from, and its number there. */
  on<K extends keyof InboxEvents>(
    name: K,
    listener: (value: InboxEvents[K], origin: EventOrigin) => void,
  ): () => void;
  /** The SEEN events that follow bring the new unseenCount. */
  markSeen(ids: string[]): Promise<void>;
  /** Returns how many were marked. */
  markAllSeen(): Promise<number>;
  acknowledge(id: string): Promise<void>;
  /** Marks them unseen again: back in `notifications`; UNSEEN events bring the counts. */
  markUnseen(ids: string[]): Promise<void>;
  /** Dismisses them (all or none; not a require-ack one still awaiting acknowledge). */
  archive(ids: string[]): Promise<void>;
  /** Takes them back from the archive. */
  unarchive(ids: string[]): Promise<void>;
  /**
   * Clears all: archives what `filter` matches (status ALL, SEEN or SNOOZED; all by default),
   * but what awaits an acknowledgement; returns how many. Every store of the user reloads.
   */
  archiveAll(filter?: NotificationFilter): Promise<number>;
  /** Hides it until `until` (a Date or an ISO string), when the service's UNSNOOZED brings it back. */
  snooze(id: string, until: Date | string): Promise<void>;
  /** Loads the next page of the whole history into `history`. */
  loadMore(first?: number): Promise<void>;
  /** Loads every category with the user's choice into `preferences`; `setMuted` keeps it current. */
  loadPreferences(): Promise<CategoryChoice[]>;
  setMuted(category: string, muted: boolean): Promise<CategoryPreference>;
  /** Starts again from a snapshot, with a token from `getToken`: after `expired` or `failed`. */
  reconnect(): void;
  close(): Promise<void>;
}

interface SnapshotData {
  inbox: {
    notifications: Notification[];
    unseenCount: number;
    counts: { category: string; unseen: number }[];
    cursor: string;
  };
  snoozed: { nodes: Notification[] };
  seen: { nodes: Pick<Notification, 'id' | 'seenAt' | 'acknowledgedAt' | 'updatedAt'>[] };
  categoryPreferences: CategoryPreference[];
}

interface PreferencesData {
  categories: { name: string; requireAck: boolean }[];
  categoryPreferences: CategoryPreference[];
}

interface HistoryData {
  notifications: {
    nodes: Notification[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** One start: a socket and the stream on it. A reconnect() or close() leaves it behind. */
interface Session {
  socket: Client;
  stopLive?: () => void;
  /** Snapshot and stream failures in a row, for the back-off; an event resets it. */
  failures: number;
  /** Snapshots asked for: only the latest one's answer is taken and followed. */
  loads: number;
  lastClose?: { code: number; reason: string };
  retryTimer?: ReturnType<typeof setTimeout>;
}

const CLOSE_BY_CODE = new Map<number, CloseCode>(Object.values(CLOSE).map((c) => [c.code, c]));

export function createInbox(options: InboxOptions): Inbox {
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const retryDelay = options.retryDelay ?? ((retries: number) => backoff(retries));
  const wsUrl = options.wsUrl ?? options.url.replace(/^http/, 'ws');
  const listeners = new Set<(state: InboxState) => void>();
  const events = new Emitter<InboxEvents, EventOrigin>();
  const storeId = randomId();
  let emitted = 0;
  const emit = <K extends keyof InboxEvents>(name: K, value: InboxEvents[K]) =>
    events.emit(name, value, { store: storeId, seq: ++emitted });
  let state = startingState();
  let session: Session | undefined;
  let historyCursor: string | null = null;
  let historyStarted = false;
  let loadingMore: Promise<void> | undefined;
  /**
   * Whether each notification the store has heard of counts (as of the last snapshot and the
   * events since, never a mutation's answer): what an event changed is judged against it.
   */
  const counted = new Map<string, boolean>();
  let muted = new Set<string>();
  let countCheck: ReturnType<typeof setTimeout> | undefined;

  function update(change: Partial<InboxState>): void {
    state = { ...state, ...change };
    for (const listener of listeners) {
      try {
        listener(state);
      } catch (error) {
        reportLater(error);
      }
    }
  }

  async function request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const token = await options.getToken();
    try {
      return await postGraphQL<T>(fetchImpl, options.url, token, query, variables);
    } catch (error) {
      if (error instanceof InboxError && error.code === 'UNAUTHENTICATED') expire();
      throw error;
    }
  }

  function start(): void {
    stop();
    const current: Session = {
      failures: 0,
      loads: 0,
      socket: openSocket({
        connected: () => ifCurrent(current, () => update({ status: 'live', problem: null })),
        closed: (close) => {
          current.lastClose = close;
          ifCurrent(current, () => update({ status: 'reconnecting' }));
        },
        lastClose: () => current.lastClose,
      }),
    };
    session = current;
    update({ status: 'connecting', problem: null });
    void load(current);
  }

  function openSocket(on: {
    connected: () => void;
    closed: (close: { code: number; reason: string }) => void;
    lastClose: () => { code: number; reason: string } | undefined;
  }): Client {
    return createClient({
      url: wsUrl,
      webSocketImpl: options.webSocketImpl,
      // Asked on every connection, so a reconnect never presents a token that has expired since.
      connectionParams: async () => ({ authorization: `Bearer ${await options.getToken()}` }),
      // Keep trying while the network or the service is away, waiting longer each time...
      retryAttempts: Infinity,
      retryWait: (retries) => wait(delayBefore(retries, on.lastClose())),
      // ...but not after a close the service means as final (a refused token above all).
      shouldRetry: (event) => {
        const code = closeCode(event);
        return code === undefined || (CLOSE_BY_CODE.get(code)?.clientRetries ?? true);
      },
      on: {
        connected: () => on.connected(),
        closed: (event) => {
          const code = closeCode(event);
          if (code !== undefined) on.closed({ code, reason: reasonOf(event) });
        },
      },
    });
  }

  /** The back-off, or longer when the service said how long to wait (4430 "retry after <n> s"). */
  function delayBefore(retries: number, lastClose: { code: number; reason: string } | undefined) {
    const delay = retryDelay(retries);
    if (lastClose?.code !== CLOSE.rateLimited.code) return delay;
    const seconds = Number(/retry after (\d+) s/.exec(lastClose.reason)?.[1] ?? 0);
    return Math.max(delay, seconds * 1000);
  }

  /**
   * Loads the unseen list, the counts, the snoozed ones and the cursor they stand at, then
   * follows events from that cursor. Seen cards the state showed stay if they are still seen.
   */
  async function load(current: Session): Promise<void> {
    if (current !== session) return;
    const asked = ++current.loads;
    let snapshot: SnapshotData;
    try {
      snapshot = await request<SnapshotData>(SNAPSHOT, { limit: options.snapshotLimit });
    } catch (error) {
      if (asked === current.loads) ifCurrent(current, () => retryLater(current, error));
      return;
    }
    if (current !== session || asked !== current.loads) return;
    const { inbox, snoozed, seen, categoryPreferences } = snapshot;
    muted = new Set(categoryPreferences.filter((p) => p.muted).map((p) => p.category));
    counted.clear();
    // Seen ones that still await an acknowledgement are in both `seen` and the unseen list.
    for (const n of [...snoozed.nodes, ...seen.nodes]) counted.set(n.id, false);
    for (const n of inbox.notifications) counted.set(n.id, true);
    const categoryCounts = Object.fromEntries(inbox.counts.map((c) => [c.category, c.unseen]));
    const stillSeen = new Map(seen.nodes.map((n) => [n.id, n]));
    const kept = state.notifications.flatMap((n) => {
      const now = stillSeen.get(n.id);
      return now ? [{ ...n, ...now, archivedAt: null, snoozedUntil: null }] : [];
    });
    const notifications = newestFirst([...inbox.notifications, ...without(kept, inbox.notifications)]);
    const fresh = [...notifications, ...snoozed.nodes];
    update({
      notifications,
      unseenCount: inbox.unseenCount,
      categoryCounts,
      snoozed: soonestBack(snoozed.nodes),
      history: replaced(state.history, fresh),
      cursor: inbox.cursor,
      problem: null,
    });
    emit('snapshot', {
      notifications: inbox.notifications,
      unseenCount: inbox.unseenCount,
      categoryCounts,
      snoozed: snoozed.nodes,
      cursor: inbox.cursor,
    });
    current.stopLive?.();
    follow(current, inbox.cursor);
  }

  /** Starts again from a fresh snapshot on the same socket: for what events cannot say exactly. */
  function reload(): void {
    const current = session;
    if (!current) return;
    current.stopLive?.();
    void load(current);
  }

  /**
   * From the snapshot's own cursor: whatever happened since the query is replayed, not lost.
   * myNotifications carries public notifications too, so publicNotifications would double them.
   */
  function follow(current: Session, cursor: string): void {
    const payload = { query: EVENTS, variables: { after: cursor } };
    let stopped = false;
    // graphql-ws ends the sink itself when unsubscribed: only an end we did not ask for counts.
    const live = (run: () => void) => !stopped && ifCurrent(current, run);
    const unsubscribe = current.socket.subscribe<{ myNotifications: NotificationEvent }>(payload, {
      next: (result) =>
        live(() => {
          const event = result.data?.myNotifications;
          if (!event) return streamFailed(current, result.errors);
          // graphql-ws sends this same payload again after each reconnect: keeping `after` at the
          // newest cursor makes it resume where the stream stopped.
          payload.variables = { after: event.cursor };
          current.failures = 0;
          apply(event);
        }),
      error: (error) => live(() => streamFailed(current, error)),
      complete: () =>
        live(() => retryLater(current, new InboxError('STREAM_ENDED', 'the event stream ended'))),
    });
    current.stopLive = () => {
      stopped = true;
      unsubscribe();
    };
  }

  function streamFailed(current: Session, error: unknown): void {
    const code = closeCode(error);
    if (code === CLOSE.unauthorized.code) return expire();
    if (code !== undefined) {
      // graphql-ws gave up on this close: the table says it is final for a client.
      const meaning = CLOSE_BY_CODE.get(code)?.meaning ?? reasonOf(error);
      return fail(`the service closed the connection (${code}): ${meaning}`);
    }
    switch (graphQLErrorCode(error)) {
      case 'UNAUTHENTICATED':
        return expire();
      case 'CURSOR_EXPIRED':
        // The events after our cursor are no longer kept: a fresh snapshot has all they changed.
        current.stopLive?.();
        return void load(current);
      default:
        return retryLater(current, error);
    }
  }

  function retryLater(current: Session, error: unknown): void {
    current.stopLive?.();
    update({ status: 'reconnecting', problem: messageOf(error) });
    current.retryTimer = setTimeout(() => void load(current), retryDelay(current.failures++));
  }

  function apply(event: NotificationEvent): void {
    emit('event', event);
    if (event.type === 'ALL_SEEN' || event.type === 'ALL_ARCHIVED') {
      // One event for many notifications of any category (archiveAll's filter is not in it):
      // a snapshot says exactly what they are now, and the stream goes on from its cursor.
      return reload();
    }
    // Every other event is about its notifications alone: each moves its category's count by
    // whether it counts now less whether it counted before. (The event's unseenCount cannot say
    // it per event: events replayed after a reconnect each carry the count as it is now.)
    const categoryCounts = { ...state.categoryCounts };
    for (const n of event.notifications) {
      const now = event.type !== 'DELETED' && counts(n, muted);
      const before = counted.get(n.id) ?? countedBefore(event.type, n, muted);
      if (event.type === 'DELETED') counted.delete(n.id);
      else counted.set(n.id, now);
      categoryCounts[n.category] = (categoryCounts[n.category] ?? 0) + Number(now) - Number(before);
    }
    let lists: Lists = state;
    if (event.replaces) {
      // A thread's new notification takes the place of the one it folds (same category).
      const replaced = event.replaces;
      if (counted.get(replaced)) {
        const category = event.notification.category;
        categoryCounts[category] = (categoryCounts[category] ?? 0) - 1;
      }
      counted.delete(replaced);
      const kept = (n: Notification) => n.id !== replaced;
      lists = {
        notifications: lists.notifications.filter(kept),
        snoozed: lists.snoozed.filter(kept),
        history: lists.history.filter(kept),
      };
    }
    let added: Notification[] = [];
    switch (event.type) {
      case 'CREATED':
      case 'DIGEST': {
        // A DIGEST lists oldest first; the state keeps newest first. A repeat is not added twice.
        added = without(event.notifications, lists.notifications).reverse();
        const history = historyStarted ? [...without(added, lists.history), ...lists.history] : lists.history;
        lists = { ...lists, notifications: [...added, ...lists.notifications], history };
        break;
      }
      case 'DELETED': {
        const gone = (n: Notification) => n.id !== event.notification.id;
        lists = {
          notifications: lists.notifications.filter(gone),
          snoozed: lists.snoozed.filter(gone),
          history: lists.history.filter(gone),
        };
        break;
      }
      default: {
        const wasListed = lists.notifications.some((n) => n.id === event.notification.id);
        const comesBack = event.type === 'UNSNOOZED' || event.type === 'UNARCHIVED';
        lists = placed(lists, event.notification, comesBack);
        const back = lists.notifications.find((n) => n.id === event.notification.id);
        // Back from a snooze: in front of the user again, as when it arrived.
        if (event.type === 'UNSNOOZED' && back && !wasListed) added = [back];
      }
    }
    const { notifications, snoozed, history } = lists;
    update({ notifications, snoozed, history, categoryCounts, unseenCount: event.unseenCount, cursor: event.cursor });
    for (const notification of added) emit('notification', notification);
    // Once the events stop coming (a replay's too), the counts must add up to the service's:
    // if not, something changed one without an event (an expiry): a snapshot has it exactly.
    clearTimeout(countCheck);
    countCheck = setTimeout(() => {
      const values = Object.values(state.categoryCounts);
      const sum = values.reduce((a, b) => a + b, 0);
      if (sum !== state.unseenCount || values.some((c) => c < 0)) reload();
    }, COUNT_CHECK_MS);
  }

  /** The token was refused: stop everything and wait for reconnect() rather than retry. */
  function expire(): void {
    stop();
    update({ status: 'expired', problem: null });
  }

  function fail(problem: string): void {
    stop();
    update({ status: 'failed', problem });
  }

  function stop(): Promise<void> {
    const current = session;
    if (!current) return Promise.resolve();
    session = undefined;
    clearTimeout(current.retryTimer);
    clearTimeout(countCheck);
    current.stopLive?.();
    // Disposing waits for a connection under way; one the server has just refused rejects.
    return Promise.resolve(current.socket.dispose()).catch(() => {});
  }

  function ifCurrent(current: Session, run: () => void): boolean {
    if (current === session) run();
    return current === session;
  }

  function replace(changed: Notification[]): void {
    update({
      notifications: replaced(state.notifications, changed),
      history: replaced(state.history, changed),
    });
  }

  /** A mutation's answer, shown at once where it now belongs (the events bring the counts). */
  function place(changed: Notification[], comesBack = false): void {
    let lists: Lists = state;
    for (const n of changed) lists = placed(lists, n, comesBack);
    const { notifications, snoozed, history } = lists;
    update({ notifications, snoozed, history });
  }

  /** Sets one category's choice in `preferences`, once they are loaded. */
  function choose(category: string, muted: boolean): void {
    if (!state.preferences) return;
    update({
      preferences: state.preferences.map((choice) =>
        choice.category === category ? { ...choice, muted } : choice,
      ),
    });
  }

  async function loadPage(first: number): Promise<void> {
    const data = await request<HistoryData>(HISTORY, { first, after: historyCursor });
    const { nodes, pageInfo } = data.notifications;
    historyStarted = true;
    historyCursor = pageInfo.endCursor ?? historyCursor;
    update({ history: [...state.history, ...without(nodes, state.history)], hasMore: pageInfo.hasNextPage });
  }

  start();

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    on: (name, listener) => events.on(name, listener),
    async markSeen(ids) {
      if (ids.length === 0) return;
      replace((await request<{ markSeen: Notification[] }>(MARK_SEEN, { ids })).markSeen);
    },
    async markAllSeen() {
      return (await request<{ markAllSeen: number }>(MARK_ALL_SEEN)).markAllSeen;
    },
    async acknowledge(id) {
      replace([(await request<{ acknowledge: Notification }>(ACKNOWLEDGE, { id })).acknowledge]);
    },
    async markUnseen(ids) {
      if (ids.length === 0) return;
      place((await request<{ markUnseen: Notification[] }>(MARK_UNSEEN, { ids })).markUnseen);
    },
    async archive(ids) {
      if (ids.length === 0) return;
      place((await request<{ archive: Notification[] }>(ARCHIVE, { ids })).archive);
    },
    async unarchive(ids) {
      if (ids.length === 0) return;
      place((await request<{ unarchive: Notification[] }>(UNARCHIVE, { ids })).unarchive, true);
    },
    async archiveAll(filter) {
      return (await request<{ archiveAll: number }>(ARCHIVE_ALL, { filter })).archiveAll;
    },
    async snooze(id, until) {
      const at = typeof until === 'string' ? until : until.toISOString();
      place([(await request<{ snooze: Notification }>(SNOOZE, { id, until: at })).snooze]);
    },
    loadMore(first = 20) {
      // One page at a time: two at once would both ask for the page after the same cursor.
      loadingMore ??= loadPage(first).finally(() => (loadingMore = undefined));
      return loadingMore;
    },
    async setMuted(category, muted) {
      // Shown at once, as the checkbox the user just clicked; put back if the service refuses.
      choose(category, muted);
      try {
        const data = await request<{ setCategoryPreference: CategoryPreference }>(SET_MUTED, {
          category,
          muted,
        });
        choose(category, data.setCategoryPreference.muted);
        // Muting changes counts without an event: a snapshot has them as they are now.
        reload();
        return data.setCategoryPreference;
      } catch (error) {
        choose(category, !muted);
        throw error;
      }
    },
    async loadPreferences() {
      const { categories, categoryPreferences } = await request<PreferencesData>(PREFERENCES);
      const muted = new Set(categoryPreferences.filter((p) => p.muted).map((p) => p.category));
      const preferences = categories.map(({ name, requireAck }) => ({
        category: name,
        muted: muted.has(name),
        canMute: !requireAck,
      }));
      update({ preferences });
      return preferences;
    },
    reconnect: start,
    async close() {
      await stop();
      update({ status: 'closed' });
    },
  };
}

/** A store's state before it has heard from the service. */
export function startingState(): InboxState {
  return {
    status: 'connecting',
    notifications: [],
    unseenCount: 0,
    categoryCounts: {},
    snoozed: [],
    cursor: null,
    history: [],
    hasMore: true,
    problem: null,
    preferences: null,
  };
}

/** The notifications of `list` that `known` does not have. */
function without(list: Notification[], known: Notification[]): Notification[] {
  const ids = new Set(known.map((n) => n.id));
  return list.filter((n) => !ids.has(n.id));
}

/** How long after the last event the counts are checked against the service's total. */
const COUNT_CHECK_MS = 300;

/** Whether it is in the user's unseen count (the service's rule, visibility.ts). */
function counts(n: Notification, muted: Set<string>): boolean {
  if (muted.has(n.category) || n.archivedAt || n.snoozedUntil) return false;
  if (n.expiresAt && Date.parse(n.expiresAt) <= Date.now()) return false;
  return !n.seenAt || (n.requireAck && !n.acknowledgedAt);
}

/** For a notification the store had not heard of: what the event says it was before. */
function countedBefore(type: NotificationEvent['type'], n: Notification, muted: Set<string>) {
  const at = n.updatedAt;
  switch (type) {
    case 'SEEN':
      return counts({ ...n, seenAt: null }, muted);
    case 'UNSEEN':
      return counts({ ...n, seenAt: at }, muted);
    case 'ACKNOWLEDGED':
      return counts({ ...n, acknowledgedAt: null }, muted);
    case 'ARCHIVED':
      // A snoozed one the store holds (in `snoozed`) is known; archive ends a snooze.
      return counts({ ...n, archivedAt: null, snoozedUntil: null }, muted);
    case 'SNOOZED':
      return counts({ ...n, snoozedUntil: null }, muted);
    default:
      // New (CREATED, DIGEST), back from the archive or a snooze, or deleted unheard of.
      return false;
  }
}

/** The lists a notification can be in. */
interface Lists {
  notifications: Notification[];
  snoozed: Notification[];
  history: Notification[];
}

/**
 * Puts the latest version of a notification where it now belongs: out of `notifications` when
 * archived or snoozed, into it when it needs attention again (unseen, or awaiting an
 * acknowledgement) or `comesBack` (from a snooze or the archive, seen or not: the user asked to
 * see it again), in `snoozed` while snoozed. A version older than the one held changes nothing.
 */
function placed(lists: Lists, n: Notification, comesBack = false): Lists {
  const held = [...lists.notifications, ...lists.snoozed, ...lists.history].find((h) => h.id === n.id);
  if (held && Date.parse(held.updatedAt) > Date.parse(n.updatedAt)) return lists;
  const others = (list: Notification[]) => list.filter((h) => h.id !== n.id);
  const listed = lists.notifications.some((h) => h.id === n.id);
  const away = n.archivedAt !== null || n.snoozedUntil !== null;
  const needsAttention = !n.seenAt || (n.requireAck && !n.acknowledgedAt);
  let notifications = lists.notifications;
  if (away) notifications = others(notifications);
  else if (listed) notifications = replaced(notifications, [n]);
  else if (needsAttention || comesBack) notifications = newestFirst([n, ...notifications]);
  const snoozed =
    n.snoozedUntil && !n.archivedAt ? soonestBack([n, ...others(lists.snoozed)]) : others(lists.snoozed);
  return { notifications, snoozed, history: replaced(lists.history, [n]) };
}

function newestFirst(list: Notification[]): Notification[] {
  return [...list].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

function soonestBack(list: Notification[]): Notification[] {
  return [...list].sort((a, b) => Date.parse(a.snoozedUntil ?? '') - Date.parse(b.snoozedUntil ?? ''));
}

function replaced(list: Notification[], changed: Notification[]): Notification[] {
  const byId = new Map(changed.map((n) => [n.id, n]));
  return list.map((n) => byId.get(n.id) ?? n);
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function closeCode(event: unknown): number | undefined {
  return typeof event === 'object' && event !== null && 'code' in event
    ? Number(event.code)
    : undefined;
}

function reasonOf(event: unknown): string {
  return typeof event === 'object' && event !== null && 'reason' in event
    ? String(event.reason)
    : '';
}

/** The `extensions.code` of the first GraphQL error, as graphql-ws passes them (an array). */
function graphQLErrorCode(error: unknown): string | undefined {
  const first: unknown = Array.isArray(error) ? error[0] : undefined;
  if (typeof first !== 'object' || first === null || !('extensions' in first)) return undefined;
  const code = (first.extensions as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message).join('; ');
  const reason = reasonOf(error);
  return reason || String(error);
}
