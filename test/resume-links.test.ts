import { ApolloClient, InMemoryCache, type ApolloLink } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, gql as urqlGql } from '@urql/core';
import { gql } from '@apollo/client';
import { createClient, type Client as SocketClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NotificationsWsLink } from '../packages/client/src/apollo.js';
import { notificationsExchange } from '../packages/client/src/urql.js';
import { send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { sleep, until } from './helpers/wait.js';

// Apollo Client and urql over graphql-ws, through packages/client's link and exchange, against
// the real service behind a TCP proxy: sends go on while the proxy drops the socket mid-stream,
// twice, and each client must get every notification once, in order.

let server: TestServer;
let proxy: TcpProxy;
const sockets: SocketClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'info' });
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
});
afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await proxy.close();
  await server.stop();
});

/** A graphql-ws client as an app makes one: it retries for ever, here without waiting long. */
async function socketFor(userId: string): Promise<SocketClient> {
  const token = await server.token(userId);
  const socket = createClient({
    url: `ws://127.0.0.1:${proxy.port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    retryWait: async () => {
      await sleep(50);
    },
    shouldRetry: () => true,
  });
  sockets.push(socket);
  return socket;
}

const eventCursor = async (userId: string) =>
  (await server.request<{ eventCursor: string }>('{ eventCursor }', {}, userId)).data!.eventCursor;

/**
 * Sends `count` notifications one after another and drops every socket twice on the way: each
 * drop while the sends go on, the proxy refusing for a moment before it listens again. Returns
 * the ids sent and how many connections the proxy accepted meanwhile.
 */
async function sendThroughDrops(userId: string, count: number) {
  const acceptedBefore = proxy.accepted();
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 3) || i === Math.floor((2 * count) / 3)) {
      await proxy.cut();
      setTimeout(() => void proxy.restore(), 150);
    }
    const { notification } = await send(server, {
      category: 'info',
      recipientIds: [userId],
      title: `n${i}`,
    });
    sent.push(notification.id);
    await sleep(30);
  }
  return { sent, connections: proxy.accepted() - acceptedBefore };
}

/** Waits for `count` notifications, then a little more: a repeat would arrive in that time. */
async function received(ids: () => string[], count: number) {
  await until(
    () => ids().length,
    (n) => n >= count,
    20_000,
    `${count} notifications`,
  );
  await sleep(500);
  return ids();
}

// As users write them: an alias, a variable of another name, no cursor asked for...
const ALIASED = `subscription Feed($from: String) {
  feed: myNotifications(after: $from) { kind: type unseenCount n: notification { id title } }
}`;
// ...or the starting cursor inline.
const inline = (cursor: string) => `subscription {
  myNotifications(after: "${cursor}") { notification { id } cursor type }
}`;

interface FeedEvent {
  kind: string;
  unseenCount: number;
  n: { id: string; title: string };
}

/** Apollo Client over `link`, following ALIASED for `userId` from the cursor it stands at. */
async function apolloFeed(userId: string, link: (socket: SocketClient) => ApolloLink) {
  const client = new ApolloClient({
    link: link(await socketFor(userId)),
    cache: new InMemoryCache(),
  });
  const events: FeedEvent[] = [];
  const subscription = client
    .subscribe<{ feed: FeedEvent }>({
      query: gql(ALIASED),
      variables: { from: await eventCursor(userId) },
    })
    .subscribe(({ data }) => data && events.push(data.feed));
  return {
    events,
    ids: () => events.filter((e) => e.kind === 'CREATED').map((e) => e.n.id),
    stop: () => subscription.unsubscribe(),
  };
}

describe('after dropped sockets, while sends go on', () => {
  it('Apollo Client over NotificationsWsLink receives every notification once, in order', async () => {
    const feed = await apolloFeed('apollo-ann', (socket) => new NotificationsWsLink(socket));
    const { sent, connections } = await sendThroughDrops('apollo-ann', 24);
    expect(await received(feed.ids, sent.length)).toEqual(sent);
    expect(connections, 'reconnected after each drop').toBeGreaterThanOrEqual(2);
    // The cursor the link asked for is not handed to the app: the result is what it selected.
    expect(Object.keys(feed.events[0]!).sort()).toEqual(['__typename', 'kind', 'n', 'unseenCount']);
    expect(feed.events.at(-1)!.unseenCount).toBe(sent.length);
    feed.stop();
  });

  it('urql over notificationsExchange receives every notification once, in order', async () => {
    const client = new UrqlClient({
      url: server.url,
      exchanges: [notificationsExchange(await socketFor('urql-una'))],
    });
    const events: { notification: { id: string }; type: string; cursor: string }[] = [];
    const subscription = client
      .subscription(urqlGql(inline(await eventCursor('urql-una'))), {})
      .subscribe(({ data }) => data && events.push(data.myNotifications));
    const { sent, connections } = await sendThroughDrops('urql-una', 24);
    const ids = () => events.filter((e) => e.type === 'CREATED').map((e) => e.notification.id);
    expect(await received(ids, sent.length)).toEqual(sent);
    expect(connections, 'reconnected after each drop').toBeGreaterThanOrEqual(2);
    // Each event's own cursor, newer each time: the stream went on rather than starting over.
    expect(new Set(events.map((e) => e.cursor)).size).toBe(events.length);
    subscription.unsubscribe();
  });

  it('(without them) plain GraphQLWsLink resubscribes from its first cursor and repeats events', async () => {
    const feed = await apolloFeed('apollo-plain', (socket) => new GraphQLWsLink(socket));
    const { sent } = await sendThroughDrops('apollo-plain', 24);
    const ids = await received(feed.ids, sent.length);
    // What the link and the exchange are for: the same document, without them, gets repeats.
    expect(ids.length).toBeGreaterThan(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent));
    feed.stop();
  });
});
