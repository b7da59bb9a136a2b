import type { Inbox } from './inbox.js';
import {
  errorData,
  HEARTBEAT_MS,
  Mirror,
  type TabMessage,
  type WorkerMessage,
} from './protocol.js';
import type { SharedInboxOptions } from './shared.js';

// A tab's side of the SharedWorker mode: the store runs in the worker, this tab mirrors it over
// the worker's port, passes its actions on, and answers the worker's token requests (getToken
// reads the app's auth, which lives in the tab).

export function connectWorker(
  options: SharedInboxOptions & { sharedWorker: URL | string; name: string },
): Inbox {
  const worker = new SharedWorker(options.sharedWorker, { type: 'module', name: options.name });
  const port = worker.port;
  const post = (message: TabMessage) => port.postMessage(message);
  const mirror = new Mirror(post);
  const { url, wsUrl, snapshotLimit } = options;
  const open = () => post({ type: 'open', options: { url, wsUrl, snapshotLimit } });

  port.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
    if (data.type !== 'token-request') return mirror.receive(data);
    Promise.resolve()
      .then(() => options.getToken())
      .then(
        (token) => post({ type: 'token', id: data.id, token }),
        (error: unknown) => post({ type: 'token', id: data.id, error: errorData(error) }),
      );
  };
  open();

  const heartbeat = setInterval(() => post({ type: 'ping' }), HEARTBEAT_MS);
  // Leaving says so at once, so the last tab to go ends the socket; back from the
  // back/forward cache, it joins again.
  const bye = () => post({ type: 'bye' });
  const back = (event: PageTransitionEvent) => void (event.persisted && open());
  addEventListener('pagehide', bye);
  addEventListener('pageshow', back);

  return mirror.inbox(async () => {
    clearInterval(heartbeat);
    removeEventListener('pagehide', bye);
    removeEventListener('pageshow', back);
    bye();
    port.close();
    mirror.show({ ...mirror.getState(), status: 'closed' });
  });
}
