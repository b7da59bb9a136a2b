import { Client, fetchExchange, subscriptionExchange, type CombinedError } from '@urql/core';
import { createClient, type Client as SocketClient } from 'graphql-ws';
import {
  AcknowledgeDocument,
  InboxDocument,
  MarkAllSeenDocument,
  MarkSeenDocument,
  MyNotificationsDocument,
  type MyNotificationsSubscription,
} from '../../../client/graphql';
import { CLOSE } from '../../../src/sockets/close-codes';
import { backoff } from '../../../packages/client/src/backoff';
import type { Command, InboxState, Notification, Received, Update } from './protocol';

// The one place that talks to the server: a urql client (queries and mutations over HTTP) and a
// graphql-ws socket (the live stream). It runs in the SharedWorker, so a browser has one socket
// however many tabs are open, and sends its state to every tab's port after each change.

/** The service closes a socket with this code when the token is refused or expires. */
const CLOSE_UNAUTHENTICATED = CLOSE.unauthorized.code;

type Event = MyNotificationsSubscription['myNotifications'];

interface Connection {
  urql: Client;
  socket: SocketClient;
  stopLive?: () => void;
  /** Stream failures in a row, for the back-off; an event resets it. */
  failures: number;
}

export class InboxHub {
  private readonly ports = new Set<MessagePort>();
  private state: InboxState = emptyState('signed-out');
  private connection?: Connection;
  private signedIn?: { server: string; token: string };
  /** Hidden in this browser only; the server just hears "seen". */
  private readonly dismissed = new Set<string>();
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
        this.seenTimer ??= setTimeout(() => void this.flushSeen(), 200);
        return;
      case 'markAllSeen':
        void this.mutate((urql) => urql.mutation(MarkAllSeenDocument, {}).toPromise());
        return;
      case 'acknowledge':
        void this.mutate(async (urql) => {
          const result = await urql.mutation(AcknowledgeDocument, { id: command.id }).toPromise();
          if (result.data) this.replace([result.data.acknowledge]);
          return result;
        });
        return;
      case 'dismiss': {
        const notification = this.find(command.id);
        // A notification that asks to be acknowledged cannot be put aside unanswered.
        if (!notification || (notification.requireAck && !notification.acknowledgedAt)) return;
        this.handle(port, { type: 'markSeen', ids: [command.id] });
        this.dismissed.add(command.id);
        this.update({ notifications: this.state.notifications.filter((n) => n.id !== command.id) });
        return;
      }
    }
  }

  private start(server: string, token: string): void {
    this.stop();
    this.signedIn = { server, token };
    this.dismissed.clear();
    this.state = emptyState('connecting');
    const connection = openConnection(server, token, {
      connected: () => this.ifCurrent(connection, () => this.update({ status: 'live' })),
      closed: (code) =>
        this.ifCurrent(connection, () =>
          code === CLOSE_UNAUTHENTICATED ? this.expire() : this.update({ status: 'reconnecting' }),
        ),
    });
    this.connection = connection;
    void this.load(connection);
  }

  /** Loads the unseen list and the cursor it stands at, then follows events from that cursor. */
  private async load(connection: Connection): Promise<void> {
    if (connection !== this.connection) return;
    const result = await connection.urql.query(InboxDocument, {}).toPromise();
    if (connection !== this.connection) return;
    if (!result.data) return this.retry(connection, result.error);
    const { unseenNotifications, unseenCount, eventCursor } = result.data;
    this.received(
      'snapshot',
      unseenNotifications.map((n) => n.id),
    );
    this.update({
      unseenCount,
      cursor: eventCursor,
      notifications: unseenNotifications.filter((n) => !this.dismissed.has(n.id)),
      problem: null,
    });
    // From the snapshot's own cursor: whatever happened since the query is replayed, not lost.
    // myNotifications carries public notifications too, so publicNotifications would double them.
    const live = connection.urql
      .subscription(MyNotificationsDocument, { after: eventCursor })
      .subscribe((next) => {
        if (next.data) {
          connection.failures = 0;
          const event = next.data.myNotifications;
          this.received('event', [event.notification.id], event.type);
          this.apply(event);
        } else if (next.error) {
          // The stream ended (the token or the cursor was refused): begin again from a snapshot.
          this.ifCurrent(connection, () => this.retry(connection, next.error));
        }
      });
    connection.stopLive = () => live.unsubscribe();
  }

  private received(from: Received['from'], ids: string[], eventType?: string): void {
    const received = { hub: this.id, seq: ++this.receivedCount, from, eventType, ids };
    this.broadcast({ type: 'received', received });
  }

  private retry(connection: Connection, error: CombinedError | undefined): void {
    if (isUnauthenticated(error)) return this.expire();
    connection.stopLive?.();
    this.update({ status: 'reconnecting', problem: error?.message ?? null });
    setTimeout(() => void this.load(connection), backoff(connection.failures++));
  }

  private apply(event: Event): void {
    const { notification } = event;
    let notifications = this.state.notifications;
    switch (event.type) {
      case 'CREATED':
        if (this.find(notification.id) || this.dismissed.has(notification.id)) break;
        notifications = [notification, ...notifications];
        this.broadcast({ type: 'toast', notification });
        break;
      case 'SEEN':
      case 'ACKNOWLEDGED':
        notifications = notifications.map((n) => (n.id === notification.id ? notification : n));
        break;
      case 'DELETED':
        notifications = notifications.filter((n) => n.id !== notification.id);
        break;
    }
    this.update({ notifications, unseenCount: event.unseenCount, cursor: event.cursor });
  }

  private async flushSeen(): Promise<void> {
    this.seenTimer = undefined;
    const ids = [...this.seenQueue];
    this.seenQueue.clear();
    if (ids.length === 0) return;
    await this.mutate(async (urql) => {
      const result = await urql.mutation(MarkSeenDocument, { ids }).toPromise();
      if (result.data) this.replace(result.data.markSeen);
      return result;
    });
  }

  /** Runs a mutation; the SEEN and ACKNOWLEDGED events that follow bring the new count. */
  private async mutate(run: (urql: Client) => Promise<{ error?: CombinedError }>): Promise<void> {
    const connection = this.connection;
    if (!connection || this.state.status === 'expired') return;
    const { error } = await run(connection.urql);
    if (connection !== this.connection || !error) return;
    if (isUnauthenticated(error)) this.expire();
    else this.update({ problem: error.message });
  }

  /** The token was refused: stop everything and wait for a new one rather than retry. */
  private expire(): void {
    this.stop();
    this.update({ status: 'expired', problem: null });
  }

  private stop(): void {
    this.connection?.stopLive?.();
    // Disposing waits for a connection under way; one the server has just refused rejects.
    Promise.resolve(this.connection?.socket.dispose()).catch(() => {});
    this.connection = undefined;
  }

  private replace(changed: Notification[]): void {
    const byId = new Map(changed.map((n) => [n.id, n]));
    this.update({ notifications: this.state.notifications.map((n) => byId.get(n.id) ?? n) });
  }

  private find(id: string): Notification | undefined {
    return this.state.notifications.find((n) => n.id === id);
  }

  private isUnseen(id: string): boolean {
    return this.find(id)?.seenAt === null;
  }

  private ifCurrent(connection: Connection, run: () => void): void {
    if (connection === this.connection && this.state.status !== 'expired') run();
  }

  private update(change: Partial<InboxState>): void {
    this.state = { ...this.state, ...change };
    this.broadcast({ type: 'state', state: this.state });
  }

  private broadcast(update: Update): void {
    for (const port of this.ports) port.postMessage(update);
  }
}

function emptyState(status: InboxState['status']): InboxState {
  return { status, unseenCount: 0, notifications: [], cursor: null, problem: null };
}

function openConnection(
  server: string,
  token: string,
  on: { connected: () => void; closed: (code: number | undefined) => void },
): Connection {
  const socket = createClient({
    url: server.replace(/^http/, 'ws'),
    connectionParams: { authorization: `Bearer ${token}` },
    // Keep trying while the network or the server is away, waiting longer each time...
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoff(retries))),
    // ...but not with a token the server refused: that would only hammer it.
    shouldRetry: (event) => closeCode(event) !== CLOSE_UNAUTHENTICATED,
    on: { connected: () => on.connected(), closed: (event) => on.closed(closeCode(event)) },
  });
  const urql = new Client({
    url: server,
    // No document cache: the hub keeps its own state from events, which a cache would duplicate.
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => {
            const payload = { ...request, query: request.query ?? '' };
            const unsubscribe = socket.subscribe<Partial<MyNotificationsSubscription>>(payload, {
              next: (result) => {
                // graphql-ws sends this same payload again after each reconnect: keeping `after`
                // at the newest cursor makes it resume where the stream stopped.
                const cursor = result.data?.myNotifications?.cursor;
                if (cursor) payload.variables = { ...payload.variables, after: cursor };
                sink.next(result as Parameters<typeof sink.next>[0]);
              },
              error: (error) => sink.error(error),
              complete: () => sink.complete(),
            });
            return { unsubscribe };
          },
        }),
      }),
    ],
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    requestPolicy: 'network-only',
    preferGetMethod: false,
  });
  return { urql, socket, failures: 0 };
}

function closeCode(event: unknown): number | undefined {
  return typeof event === 'object' && event !== null && 'code' in event
    ? Number(event.code)
    : undefined;
}

function isUnauthenticated(error: CombinedError | undefined): boolean {
  return (
    error?.response?.status === 401 ||
    closeCode(error?.networkError) === CLOSE_UNAUTHENTICATED ||
    (error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ?? false)
  );
}
