import type { Inbox } from '../../../packages/client/src';

// What the store received, before it merges anything in (the view shows each notification once
// whatever arrives), as an `inbox:received` event on `window`: for whoever wants to watch the
// stream itself, a debugging tool or a test counting repeats. The store's event origins say
// which store and which of its events it was, the same in every tab that hears it.

/** The detail of an `inbox:received` event. */
export interface Received {
  /** Which store: the SharedWorker's, or the tab's that runs it; a new one when one starts again. */
  hub: string;
  /** The store's count: copies of one event in several tabs share it; a repeat does not. */
  seq: number;
  /** The snapshot's unseen notifications, or one event of the stream. */
  from: 'snapshot' | 'event';
  eventType?: string;
  ids: string[];
}

export function reportReceived(inbox: Inbox): void {
  const report = (received: Received) =>
    dispatchEvent(new CustomEvent('inbox:received', { detail: received }));
  inbox.on('snapshot', (snapshot, { store, seq }) =>
    report({ hub: store, seq, from: 'snapshot', ids: snapshot.notifications.map((n) => n.id) }),
  );
  inbox.on('event', (event, { store, seq }) =>
    report({ hub: store, seq, from: 'event', eventType: event.type, ids: [event.notification.id] }),
  );
}
