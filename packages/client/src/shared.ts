import { createInbox, type Inbox, type InboxOptions } from './inbox.js';
import { answer, Mirror, passOn, type Message } from './protocol.js';
import { connectWorker } from './worker-client.js';

// One store, so one socket, for all the tabs of a browser that share an origin. With
// `sharedWorker` (and where SharedWorker exists) the store runs in that worker. Otherwise the tab
// holding a Web Lock runs it and tells the others each state over a BroadcastChannel; the others
// pass their actions to it. When that tab goes, its lock is freed and the next tab takes over
// with a fresh snapshot. Where there are no locks or channels (Node, old browsers) it is a store
// of its own.

export interface SharedInboxOptions extends InboxOptions {
  /** Tabs that give the same name share one store; by default, one per service URL. */
  name?: string;
  /**
   * The URL the app serves `@notifications/client/worker` at (bundled as a module worker): where
   * SharedWorker exists the store runs there, and the socket outlives any one tab.
   */
  sharedWorker?: URL | string;
}

export function createSharedInbox(options: SharedInboxOptions): Inbox {
  const name = options.name ?? `@notifications/client ${options.url}`;
  if (options.sharedWorker && typeof SharedWorker === 'function') {
    return connectWorker({ ...options, sharedWorker: options.sharedWorker, name });
  }
  const locks = globalThis.navigator?.locks;
  if (typeof BroadcastChannel !== 'function' || !locks) return createInbox(options);
  const channel = new BroadcastChannel(name);
  const post = (message: Message) => channel.postMessage(message);
  const mirror = new Mirror(post);
  let stopPassing: (() => void) | undefined;
  let release: (() => void) | undefined;
  let closed = false;

  channel.onmessage = ({ data }: MessageEvent<Message>) => {
    const leader = mirror.local;
    if (leader) {
      if (data.type === 'hello') post({ type: 'state', state: leader.getState() });
      if (data.type === 'call') answer(leader, data, post);
      return;
    }
    mirror.receive(data);
    // A tab took over: what the one before did not answer goes to it.
    if (data.type === 'leader') mirror.resend();
  };
  post({ type: 'hello' });

  // Held until this tab closes the store or goes away; the browser then hands it to the next.
  void locks.request(name, () => {
    if (closed) return;
    const store = createInbox(options);
    post({ type: 'leader' });
    // This tab hears its own store as the others do, and passes it on to them.
    stopPassing = passOn(store, (message) => {
      mirror.receive(message);
      post(message);
    });
    mirror.show(store.getState());
    mirror.lead(store);
    return new Promise<void>((resolve) => (release = resolve));
  });

  return mirror.inbox(async () => {
    closed = true;
    stopPassing?.();
    channel.close();
    await mirror.local?.close();
    mirror.local = undefined;
    release?.();
    mirror.show({ ...mirror.getState(), status: 'closed' });
  });
}
