import { Emitter } from './emitter.js';
import { InboxError } from './http.js';
import { createInbox, startingState, type Inbox, type InboxOptions } from './inbox.js';
import type { InboxEvents, InboxState } from './types.js';

// One store, so one socket, for all the tabs of a browser that share an origin: the tab holding a
// Web Lock runs it and tells the others each state over a BroadcastChannel; the others pass their
// actions to it. When that tab goes, its lock is freed and the next tab takes over with a fresh
// snapshot. Where there are no locks or channels (Node, old browsers) it is a store of its own.

export interface SharedInboxOptions extends InboxOptions {
  /** Tabs that give the same name share one store; by default, one per service URL. */
  name?: string;
}

type Action =
  | 'markSeen'
  | 'markAllSeen'
  | 'acknowledge'
  | 'markUnseen'
  | 'archive'
  | 'unarchive'
  | 'archiveAll'
  | 'snooze'
  | 'loadMore'
  | 'setMuted'
  | 'loadPreferences'
  | 'reconnect';

type Message =
  | { type: 'hello' }
  | { type: 'leader' }
  | { type: 'state'; state: InboxState }
  | { type: 'event'; name: keyof InboxEvents; value: InboxEvents[keyof InboxEvents] }
  | { type: 'call'; id: string; action: Action; args: unknown[] }
  | { type: 'reply'; id: string; value?: unknown; error?: { code: string; message: string } };

const EVENT_NAMES: (keyof InboxEvents)[] = ['notification', 'event', 'snapshot'];

export function createSharedInbox(options: SharedInboxOptions): Inbox {
  const locks = globalThis.navigator?.locks;
  if (typeof BroadcastChannel !== 'function' || !locks) return createInbox(options);
  const name = options.name ?? `@notifications/client ${options.url}`;
  const channel = new BroadcastChannel(name);
  const post = (message: Message) => channel.postMessage(message);
  const listeners = new Set<(state: InboxState) => void>();
  const events = new Emitter<InboxEvents>();
  let state = startingState();
  /** This tab's store, while it leads, and how to stop passing on what it says. */
  let leader: Inbox | undefined;
  const stopPassing: (() => void)[] = [];
  /** Actions sent to the leading tab and not answered yet: a new leader runs them again. */
  const waiting = new Map<string, { action: Action; args: unknown[]; settle: Settle }>();
  let release: (() => void) | undefined;
  let closed = false;

  function show(next: InboxState): void {
    state = next;
    for (const listener of listeners) listener(state);
  }

  channel.onmessage = ({ data }: MessageEvent<Message>) => {
    if (leader) {
      if (data.type === 'hello') post({ type: 'state', state: leader.getState() });
      if (data.type === 'call') {
        void run(leader, data.action, data.args).then(
          (value) => post({ type: 'reply', id: data.id, value }),
          (error: Error) => post({ type: 'reply', id: data.id, error: errorData(error) }),
        );
      }
      return;
    }
    if (data.type === 'state') show(data.state);
    // A tab took over: what the one before did not answer goes to it.
    if (data.type === 'leader') {
      for (const [id, { action, args }] of waiting) post({ type: 'call', id, action, args });
    }
    if (data.type === 'event') events.emit(data.name, data.value as never);
    if (data.type === 'reply') {
      const call = waiting.get(data.id);
      waiting.delete(data.id);
      if (data.error) call?.settle.reject(new InboxError(data.error.code, data.error.message));
      else call?.settle.resolve(data.value);
    }
  };
  post({ type: 'hello' });

  // Held until this tab closes the store or goes away; the browser then hands it to the next.
  void locks.request(name, () => {
    if (closed) return;
    const store = createInbox(options);
    leader = store;
    post({ type: 'leader' });
    stopPassing.push(
      store.subscribe((next) => {
        show(next);
        post({ type: 'state', state: next });
      }),
    );
    for (const event of EVENT_NAMES) {
      stopPassing.push(
        store.on(event, (value) => {
          events.emit(event, value as never);
          post({ type: 'event', name: event, value });
        }),
      );
    }
    show(store.getState());
    // What the tab that led before did not answer, this one does.
    for (const [id, call] of waiting) {
      waiting.delete(id);
      run(store, call.action, call.args).then(call.settle.resolve, call.settle.reject);
    }
    return new Promise<void>((resolve) => (release = resolve));
  });

  function act(action: Action, args: unknown[]): Promise<unknown> {
    if (leader) return run(leader, action, args);
    return new Promise((resolve, reject) => {
      const id = Math.random().toString(36).slice(2);
      waiting.set(id, { action, args, settle: { resolve, reject } });
      post({ type: 'call', id, action, args });
    });
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    on: (event, listener) => events.on(event, listener),
    markSeen: (ids) => act('markSeen', [ids]) as Promise<void>,
    markAllSeen: () => act('markAllSeen', []) as Promise<number>,
    acknowledge: (id) => act('acknowledge', [id]) as Promise<void>,
    markUnseen: (ids) => act('markUnseen', [ids]) as Promise<void>,
    archive: (ids) => act('archive', [ids]) as Promise<void>,
    unarchive: (ids) => act('unarchive', [ids]) as Promise<void>,
    archiveAll: (filter) => act('archiveAll', [filter]) as Promise<number>,
    // A Date does not cross a BroadcastChannel as one: its ISO string does.
    snooze: (id, until) =>
      act('snooze', [id, typeof until === 'string' ? until : until.toISOString()]) as Promise<void>,
    loadMore: (first) => act('loadMore', [first]) as Promise<void>,
    setMuted: (category, muted) => act('setMuted', [category, muted]) as never,
    loadPreferences: () => act('loadPreferences', []) as never,
    reconnect: () => void act('reconnect', []),
    async close() {
      closed = true;
      for (const stop of stopPassing.splice(0)) stop();
      channel.close();
      await leader?.close();
      leader = undefined;
      release?.();
      show({ ...state, status: 'closed' });
    },
  };
}

interface Settle {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

async function run(store: Inbox, action: Action, args: unknown[]): Promise<unknown> {
  return (store[action] as (...args: unknown[]) => unknown)(...args);
}

function errorData(error: Error): { code: string; message: string } {
  return { code: error instanceof InboxError ? error.code : 'ERROR', message: error.message };
}
