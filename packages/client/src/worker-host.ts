import { createInbox, type Inbox } from './inbox.js';
import {
  answer,
  passOn,
  TAB_SILENT_MS,
  type Message,
  type TabMessage,
  type WorkerMessage,
  type WorkerStoreOptions,
} from './protocol.js';
import { randomId } from './random-id.js';

// The SharedWorker's side: one store, so one socket, for every tab that has a port to it. Tokens
// come from the tabs; the store lives while a tab does, so a tab closing disturbs no other.

/** How long a connection waits for a tab's token before it fails as a refused getToken would. */
const TOKEN_TIMEOUT_MS = 10_000;
/** How long the tab that acted last has to answer alone before every tab is asked. */
const ASK_ALL_AFTER_MS = 1_000;

interface Scope {
  onconnect: ((event: MessageEvent) => void) | null;
}

export function serveTabs(scope: Scope): void {
  /** Each tab's port, and when it was last heard from. */
  const tabs = new Map<MessagePort, number>();
  let options: WorkerStoreOptions | undefined;
  let store: Inbox | undefined;
  let stopPassing: (() => void) | undefined;
  /**
   * The tab whose action came last (a sign-in's reconnect above all): asked for tokens first,
   * since another tab may not see a token just stored yet (storage reaches tabs late).
   */
  let lastActor: MessagePort | undefined;
  const tokenRequests = new Map<string, { resolve: (token: string) => void; reject: (error: Error) => void }>();

  const broadcast = (message: WorkerMessage) => {
    for (const port of tabs.keys()) port.postMessage(message);
  };

  scope.onconnect = (event) => {
    for (const port of event.ports) {
      port.onmessage = ({ data }: MessageEvent<TabMessage>) => receive(port, data);
    }
  };

  function receive(port: MessagePort, message: TabMessage): void {
    if (message.type === 'bye') return leave(port);
    if (message.type === 'open') options ??= message.options;
    // Any word from a tab that was counted gone (silent too long, or back from the
    // back/forward cache) brings it back.
    if (!tabs.has(port)) join(port);
    tabs.set(port, Date.now());
    if (message.type === 'call') lastActor = port;
    if (message.type === 'call' && store) answer(store, message, (reply: Message) => port.postMessage(reply));
    if (message.type === 'token') {
      const request = tokenRequests.get(message.id);
      tokenRequests.delete(message.id);
      if (message.token !== undefined) request?.resolve(message.token);
      else request?.reject(new Error(message.error?.message ?? 'no token'));
    }
  }

  function join(port: MessagePort): void {
    tabs.set(port, Date.now());
    if (!store && options) {
      store = createInbox({ ...options, getToken });
      stopPassing = passOn(store, broadcast);
    }
    if (store) port.postMessage({ type: 'state', state: store.getState() } satisfies Message);
  }

  function leave(port: MessagePort): void {
    tabs.delete(port);
    if (lastActor === port) lastActor = undefined;
    if (tabs.size > 0 || !store) return;
    // The last tab went: nobody to show anything to, so no socket either.
    stopPassing?.();
    void store.close();
    store = undefined;
  }

  /** Asks the tab that acted last, then every tab; the first answer counts. */
  function getToken(): Promise<string> {
    const id = randomId();
    const request: WorkerMessage = { type: 'token-request', id };
    return new Promise<string>((resolve, reject) => {
      const askAll = setTimeout(() => broadcast(request), lastActor ? ASK_ALL_AFTER_MS : 0);
      const timer = setTimeout(() => {
        tokenRequests.delete(id);
        reject(new Error('no tab answered with a token'));
      }, TOKEN_TIMEOUT_MS);
      const settle = <T>(done: (value: T) => void) => (value: T) => {
        clearTimeout(askAll);
        clearTimeout(timer);
        done(value);
      };
      tokenRequests.set(id, { resolve: settle(resolve), reject: settle(reject) });
      lastActor?.postMessage(request);
    });
  }

  // A tab that went without a goodbye (it crashed, or the browser gave no pagehide) stops pinging.
  setInterval(() => {
    for (const [port, heard] of tabs) if (Date.now() - heard > TAB_SILENT_MS) leave(port);
  }, TAB_SILENT_MS / 5);
}
