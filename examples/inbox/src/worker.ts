import { InboxHub } from './hub';

// The SharedWorker: one hub, so one WebSocket, for every tab of this origin. Each tab that opens
// the worker arrives here with its own port.

const hub = new InboxHub();
const scope = self as unknown as { onconnect: ((event: MessageEvent) => void) | null };
scope.onconnect = (event) => {
  for (const port of event.ports) hub.connect(port);
};
