import { serveTabs } from './worker-host.js';

// The entry of the SharedWorker (`@notifications/client/worker`): the app bundles it as a module
// worker and gives its URL to createSharedInbox as `sharedWorker`.

serveTabs(self as unknown as { onconnect: ((event: MessageEvent) => void) | null });
