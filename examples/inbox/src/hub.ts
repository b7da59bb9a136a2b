import {
  createInbox,
  type Inbox,
  type InboxState as StoreState,
} from '../../../packages/client/src';
import {
  signedOutState,
  type Command,
  type InboxState,
  type Received,
  type Update,
} from './protocol';

// The one place that talks to the service, through @notifications/client (packages/client): the
// store loads the snapshot, follows the stream from the latest cursor and keeps the count. The hub
// runs it in the SharedWorker, so a browser has one socket however many tabs are open, adds what
// is this browser's own (seen batching) and sends the state to every tab's port. Dismissing,
// clearing, marking unread and snoozing are the user's state on the service: every tab and every
// device of theirs hears of them as events.

export class InboxHub {
  private readonly ports = new Set<MessagePort>();
  private state: InboxState = signedOutState();
  private inbox?: Inbox;
  private signedIn?: { server: string; token: string };
  private readonly seenQueue = new Set<string>();
  private seenTimer?: ReturnType<typeof setTimeout>;
  /** Names this hub in what it reports as received (not secret; works outside HTTPS too). */
  private readonly id = Math.random().toString(36).slice(2);
  private receivedCount = 0;

  connect(port: MessagePort): void {
    this.ports.add(port);
    port.onmessage = (event: MessageEvent<Command>) => this.handle(port, event.data);
  }

  private handle(port: MessagePort, command: Command): void {
    switch (command.type) {
      case 'start': {
        this.ports.add(port);
        // Tabs join the running connection; a different token (signed in again) replaces it.
        const { server, token } = command;
        if (this.signedIn?.server !== server || this.signedIn.token !== token) {
          this.start(server, token);
        }
        port.postMessage({ type: 'state', state: this.state } satisfies Update);
        return;
      }
      case 'leave':
        this.ports.delete(port);
        return;
      case 'markSeen':
        for (const id of command.ids) if (this.isUnseen(id)) this.seenQueue.add(id);
        // Cards scrolled into view arrive one by one: send them as one mutation.
        this.seenTimer ??= setTimeout(() => this.flushSeen(), 200);
        return;
      case 'markAllSeen':
        return this.act((inbox) => inbox.markAllSeen());
      case 'acknowledge':
        return this.act((inbox) => inbox.acknowledge(command.id));
      case 'archive':
        // The service refuses one that awaits an acknowledgement; the view offers none.
        return this.act((inbox) => inbox.archive(command.ids));
      case 'archiveAll':
        return this.act((inbox) => inbox.archiveAll(command.filter));
      case 'markUnseen':
        for (const id of command.ids) this.seenQueue.delete(id);
        return this.act((inbox) => inbox.markUnseen(command.ids));
      case 'snooze':
        return this.act((inbox) => inbox.snooze(command.id, command.until));
    }
  }

  private start(server: string, token: string): void {
    void this.inbox?.close();
    this.signedIn = { server, token };
    // The token a tab signed in with; on `expired` a tab sends a new one, which starts again.
    const inbox = createInbox({ url: server, getToken: () => token });
    this.inbox = inbox;
    inbox.subscribe((state) => this.show(state));
    inbox.on('snapshot', (snapshot) =>
      this.received(
        'snapshot',
        snapshot.notifications.map((n) => n.id),
      ),
    );
    inbox.on('event', (event) => this.received('event', [event.notification.id], event.type));
    // New, or back from a snooze: each tab shows it by its importance (view.ts).
    inbox.on('notification', (notification) => this.broadcast({ type: 'toast', notification }));
    this.show(inbox.getState());
  }

  private show(state: StoreState): void {
    const { status, unseenCount, categoryCounts, cursor, problem, notifications, snoozed } = state;
    this.update({ status, unseenCount, categoryCounts, cursor, problem, notifications, snoozed });
  }

  private received(from: Received['from'], ids: string[], eventType?: string): void {
    const received = { hub: this.id, seq: ++this.receivedCount, from, eventType, ids };
    this.broadcast({ type: 'received', received });
  }

  private flushSeen(): void {
    this.seenTimer = undefined;
    const ids = [...this.seenQueue];
    this.seenQueue.clear();
    if (ids.length > 0) this.act((inbox) => inbox.markSeen(ids));
  }

  /** Runs an action; the events that follow (SEEN, ARCHIVED, ...) bring the new counts. */
  private act(run: (inbox: Inbox) => Promise<unknown>): void {
    const inbox = this.inbox;
    if (!inbox || this.state.status === 'expired') return;
    // A refused token already shows as `expired`; anything else is the user's to know.
    run(inbox).catch((error: Error) => {
      if (inbox === this.inbox && this.state.status !== 'expired') {
        this.update({ problem: error.message });
      }
    });
  }

  private isUnseen(id: string): boolean {
    return this.state.notifications.find((n) => n.id === id)?.seenAt === null;
  }

  private update(change: Partial<InboxState>): void {
    this.state = { ...this.state, ...change };
    this.broadcast({ type: 'state', state: this.state });
  }

  private broadcast(update: Update): void {
    for (const port of this.ports) port.postMessage(update);
  }
}
