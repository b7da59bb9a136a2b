import type {
  CategoryChoice,
  CategoryPreference,
  InboxState,
  Notification,
  Priority,
} from '@notifications/client';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { useInboxClient } from './context.js';

// Hooks over the store: each reads the part of the state it names and re-renders only when that
// part changes.

/**
 * The part of the state `selector` picks. Re-renders when it changes by `isEqual` (Object.is by
 * default; `shallowEqual` for a new array or object of the same items).
 */
export function useInbox<T>(
  selector: (state: InboxState) => T,
  isEqual: (a: T, b: T) => boolean = Object.is,
): T {
  const inbox = useInboxClient();
  // useSyncExternalStore asks for the snapshot often and needs the same value back while nothing
  // changed: the last selection is kept until the state or the selector changes.
  const last = useRef<{ state: InboxState; selector: unknown; value: T } | null>(null);
  const getSelection = () => {
    const state = inbox.getState();
    const kept = last.current;
    if (kept && kept.state === state && kept.selector === selector) return kept.value;
    const picked = selector(state);
    const value = kept && isEqual(kept.value, picked) ? kept.value : picked;
    last.current = { state, selector, value };
    return value;
  };
  return useSyncExternalStore(inbox.subscribe, getSelection, getSelection);
}

/** Equal when both hold the same items (arrays) or the same values under the same keys. */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.is(a[key as keyof T], b[key as keyof T]));
}

/** The service's unseen count: exact, from the latest event. */
export function useUnseenCount(): number {
  return useInbox(selectUnseenCount);
}

const selectUnseenCount = (state: InboxState) => state.unseenCount;

/** Unseen per category (every category, 0 included), exact like the total: for tabs. */
export function useCategoryCounts(): Record<string, number> {
  return useInbox(selectCategoryCounts, shallowEqual);
}

const selectCategoryCounts = (state: InboxState) => state.categoryCounts;

/** Which notifications `useNotifications` returns; every field given must match. */
export interface NotificationFilter {
  category?: string | string[];
  priority?: Priority | Priority[];
  /** true: not seen yet; false: seen. */
  unseen?: boolean;
  /** true: waiting for an acknowledgement (require-ack and not acknowledged). */
  needsAck?: boolean;
}

/**
 * The notifications of the inbox (unseen ones, and seen require-ack ones not yet acknowledged),
 * newest first, narrowed by `filter`: fields to match, or a function.
 */
export function useNotifications(
  filter?: NotificationFilter | ((notification: Notification) => boolean),
): Notification[] {
  // A filter written inline is a new object each render: its content is what names it.
  const key = typeof filter === 'function' ? filter : JSON.stringify(filter ?? {});
  const select = useMemo(() => {
    const matches =
      typeof key === 'function' ? key : matcher(JSON.parse(key) as NotificationFilter);
    return (state: InboxState) => state.notifications.filter(matches);
  }, [key]);
  return useInbox(select, shallowEqual);
}

function matcher(filter: NotificationFilter): (notification: Notification) => boolean {
  const among = <T>(wanted: T | T[] | undefined, value: T) =>
    wanted === undefined || (Array.isArray(wanted) ? wanted.includes(value) : wanted === value);
  return (n) =>
    among(filter.category, n.category) &&
    among(filter.priority, n.priority) &&
    (filter.unseen === undefined || filter.unseen === (n.seenAt === null)) &&
    (filter.needsAck === undefined || filter.needsAck === (n.requireAck && !n.acknowledgedAt));
}

export interface Preferences {
  /** Every category with the user's choice; null while loading. */
  preferences: CategoryChoice[] | null;
  setMuted(category: string, muted: boolean): Promise<CategoryPreference>;
  /** Why loading or the last change failed; null when all is well. */
  problem: string | null;
}

/** The user's category choices, loaded when first used, and how to change them. */
export function usePreferences(): Preferences {
  const inbox = useInboxClient();
  const preferences = useInbox(selectPreferences);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (inbox.getState().preferences) return;
    inbox.loadPreferences().catch((error: Error) => setProblem(error.message));
  }, [inbox]);
  const setMuted = useCallback(
    async (category: string, muted: boolean) => {
      try {
        const chosen = await inbox.setMuted(category, muted);
        setProblem(null);
        return chosen;
      } catch (error) {
        setProblem((error as Error).message);
        throw error;
      }
    },
    [inbox],
  );
  return { preferences, setMuted, problem };
}

const selectPreferences = (state: InboxState) => state.preferences;
