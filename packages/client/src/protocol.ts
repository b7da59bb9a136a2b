import { Emitter } from './emitter.js';
import { InboxError } from './http.js';
import { startingState, type Inbox, type InboxOptions } from './inbox.js';
import { randomId } from './random-id.js';
import type { EventOrigin, InboxEvents, InboxState } from './types.js';

// What the tabs and the one store they share say to each other, whether the store runs in a tab
// (shared.ts, over a BroadcastChannel) or in a SharedWorker (worker.ts, over its ports). Plain
// data only: it is copied between tabs and threads.

export type Action =
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

export type Message =
  | { type: 'hello' }
  | { type: 'leader' }
  | { type: 'state'; state: InboxState }
  | {
      type: 'event';
      name: keyof InboxEvents;
      value: InboxEvents[keyof InboxEvents];
      /** The store's own origin of it: every tab tells its listeners the same. */
      origin: EventOrigin;
    }
  | { type: 'call'; id: string; action: Action; args: unknown[] }
  | { type: 'reply'; id: string; value?: unknown; error?: ErrorData };

/** What a tab tells the SharedWorker, beside the messages above. */
export type TabMessage =
  | Message
  /** Joins; the first tab's options start the store (what can be copied: no functions). */
  | { type: 'open'; options: WorkerStoreOptions }
  | { type: 'token'; id: string; token?: string; error?: ErrorData }
  /** "Still here": a port has no close event in every browser. */
  | { type: 'ping' }
  | { type: 'bye' };

/** What the SharedWorker tells a tab, beside the messages above. */
export type WorkerMessage = Message | { type: 'token-request'; id: string };

export type WorkerStoreOptions = Pick<InboxOptions, 'url' | 'wsUrl' | 'snapshotLimit'>;

/**
 * How often a tab says it is there. A hidden tab's timers may run once a minute (Chrome's
 * intensive throttling), so the worker waits several minutes' silence before it counts a tab gone.
 */
export const HEARTBEAT_MS = 15_000;
export const TAB_SILENT_MS = 150_000;

export interface ErrorData {
  code: string;
  message: string;
}

const EVENT_NAMES: (keyof InboxEvents)[] = ['notification', 'event', 'snapshot'];

/** Tells `post` every state and event of `store`; returns how to stop. */
export function passOn(store: Inbox, post: (message: Message) => void): () => void {
  const stops = [
    store.subscribe((state) => post({ type: 'state', state })),
    ...EVENT_NAMES.map((name) =>
      store.on(name, (value, origin) => post({ type: 'event', name, value, origin })),
    ),
  ];
  return () => stops.forEach((stop) => stop());
}

/** Runs a call a tab passed on and posts the reply. */
export function answer(
  store: Inbox,
  call: { id: string; action: Action; args: unknown[] },
  post: (message: Message) => void,
): void {
  run(store, call.action, call.args).then(
    (value) => post({ type: 'reply', id: call.id, value }),
    (error: Error) => post({ type: 'reply', id: call.id, error: errorData(error) }),
  );
}

export function errorData(error: unknown): ErrorData {
  const message = error instanceof Error ? error.message : String(error);
  return { code: error instanceof InboxError ? error.code : 'ERROR', message };
}

async function run(store: Inbox, action: Action, args: unknown[]): Promise<unknown> {
  return (store[action] as (...args: unknown[]) => unknown)(...args);
}

interface Waiting {
  action: Action;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * A tab's view of the shared store: the state and events it is told, and its actions passed on
 * with `send` (or run on `local`, the store itself, where this tab runs it) until answered.
 */
export class Mirror {
  private state = startingState();
  private readonly listeners = new Set<(state: InboxState) => void>();
  readonly events = new Emitter<InboxEvents, EventOrigin>();
  /** Calls sent and not answered yet: whoever runs the store next runs them again. */
  private readonly waiting = new Map<string, Waiting>();
  local: Inbox | undefined;

  constructor(private readonly send: (message: Message) => void) {}

  getState(): InboxState {
    return this.state;
  }

  show(next: InboxState): void {
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  /** Takes what the store's side said: a state, an event or a reply. */
  receive(message: Message): void {
    if (message.type === 'state') this.show(message.state);
    if (message.type === 'event') {
      this.events.emit(message.name, message.value as never, message.origin);
    }
    if (message.type === 'reply') {
      const call = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error) call?.reject(new InboxError(message.error.code, message.error.message));
      else call?.resolve(message.value);
    }
  }

  /** Sends again what was not answered: to a new leader. */
  resend(): void {
    for (const [id, { action, args }] of this.waiting) this.send({ type: 'call', id, action, args });
  }

  /** This tab runs the store now: what was not answered, it runs itself. */
  lead(store: Inbox): void {
    this.local = store;
    for (const [id, call] of this.waiting) {
      this.waiting.delete(id);
      run(store, call.action, call.args).then(call.resolve, call.reject);
    }
  }

  act(action: Action, args: unknown[]): Promise<unknown> {
    if (this.local) return run(this.local, action, args);
    return new Promise((resolve, reject) => {
      const id = randomId();
      this.waiting.set(id, { action, args, resolve, reject });
      this.send({ type: 'call', id, action, args });
    });
  }

  /** The store's interface over this mirror; `close` is the caller's. */
  inbox(close: () => Promise<void>): Inbox {
    const act = (action: Action, args: unknown[]) => this.act(action, args);
    return {
      getState: () => this.getState(),
      subscribe: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      on: (event, listener) => this.events.on(event, listener),
      markSeen: (ids) => act('markSeen', [ids]) as Promise<void>,
      markAllSeen: () => act('markAllSeen', []) as Promise<number>,
      acknowledge: (id) => act('acknowledge', [id]) as Promise<void>,
      markUnseen: (ids) => act('markUnseen', [ids]) as Promise<void>,
      archive: (ids) => act('archive', [ids]) as Promise<void>,
      unarchive: (ids) => act('unarchive', [ids]) as Promise<void>,
      archiveAll: (filter) => act('archiveAll', [filter]) as Promise<number>,
      // A Date is sent as its ISO string: the same on every side.
      snooze: (id, until) =>
        act('snooze', [id, typeof until === 'string' ? until : until.toISOString()]) as Promise<void>,
      loadMore: (first) => act('loadMore', [first]) as Promise<void>,
      setMuted: (category, muted) => act('setMuted', [category, muted]) as never,
      loadPreferences: () => act('loadPreferences', []) as never,
      reconnect: () => void act('reconnect', []),
      close,
    };
  }
}
