import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { print } from 'graphql';
import { createClient, type Client as SocketClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  InboxDocument,
  MarkSeenDocument,
  MyNotificationsDocument,
  type MyNotificationsSubscription,
} from '../client/graphql.js';
import { ok, send, upsertCategory } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { serverSentEvents } from './helpers/sse.js';
import { until } from './helpers/wait.js';

// Clients nobody here wrote, driven the way their documentation says, with the typed documents
// from client/: Apollo Client and urql over graphql-ws, and plain fetch over Server-Sent Events
// for networks that block WebSockets.

type Event = MyNotificationsSubscription['myNotifications'];

let server: TestServer;
const sockets: SocketClient[] = [];
beforeAll(async () => {
  server = await startTestServer();
  await upsertCategory(server, { name: 'exports' });
});
afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server.stop();
});

function socketFor(token: string): SocketClient {
  const socket = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  sockets.push(socket);
  return socket;
}

const arrived = (events: unknown[], count: number) =>
  until(
    () => events.length,
    (length) => length >= count,
    5000,
    `${count} subscription events`,
  );

describe('Apollo Client 4', () => {
  it('follows myNotifications over GraphQLWsLink and updates its normalized cache after markSeen', async () => {
    const token = await server.token('apollo-user');
    const cache = new InMemoryCache();
    const client = new ApolloClient({
      link: ApolloLink.split(
        ({ query }) => {
          const definition = getMainDefinition(query);
          return (
            definition.kind === 'OperationDefinition' && definition.operation === 'subscription'
          );
        },
        new GraphQLWsLink(socketFor(token)),
        new HttpLink({ uri: server.url, headers: { authorization: `Bearer ${token}` } }),
      ),
      cache,
    });

    const first = await client.query({ query: InboxDocument });
    expect(first.data!.unseenNotifications).toEqual([]);
    const events: Event[] = [];
    const live = client
      .subscribe({ query: MyNotificationsDocument, variables: { after: first.data!.eventCursor } })
      .subscribe(({ data }) => data && events.push(data.myNotifications));

    const sent = await send(server, {
      category: 'exports',
      recipientIds: ['apollo-user'],
      title: 'Your export is ready',
    });
    await arrived(events, 1);
    expect(events[0]).toMatchObject({
      type: 'CREATED',
      unseenCount: 1,
      notification: { id: sent.notification.id, seenAt: null },
    });

    // From here on only the mutation's answer can change the cache, not a SEEN event.
    live.unsubscribe();
    const inbox = await client.query({ query: InboxDocument, fetchPolicy: 'network-only' });
    expect(inbox.data!.unseenNotifications.map((n) => n.id)).toEqual([sent.notification.id]);
    const watched: (string | null | undefined)[] = [];
    const watching = client
      .watchQuery({ query: InboxDocument, fetchPolicy: 'cache-only' })
      .subscribe(({ data }) => watched.push(data?.unseenNotifications?.[0]?.seenAt));
    const cacheId = cache.identify({
      __typename: 'Notification',
      id: sent.notification.id,
    })!;
    expect(cache.extract()[cacheId]).toMatchObject({ seenAt: null });

    const marked = await client.mutate({
      mutation: MarkSeenDocument,
      variables: { ids: [sent.notification.id] },
    });
    const seenAt = marked.data!.markSeen[0]!.seenAt;
    expect(seenAt).not.toBeNull();
    // One normalized Notification: the mutation's answer changed it under the query that listed it.
    expect(cache.extract()[cacheId]).toMatchObject({ seenAt });
    expect(client.readQuery({ query: InboxDocument })!.unseenNotifications[0]!.seenAt).toBe(seenAt);
    await until(
      () => watched.at(-1),
      (latest) => latest === seenAt,
      5000,
      'the watched query to show the new seenAt',
    );
    expect(watched.at(-1)).toBe(seenAt);
    watching.unsubscribe();
  });
});

describe('urql', () => {
  it('queries over HTTP and receives a sent notification through subscriptionExchange over graphql-ws', async () => {
    const token = await server.token('urql-user');
    const socket = socketFor(token);
    const client = new UrqlClient({
      url: server.url,
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink),
            }),
          }),
        }),
      ],
      fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    });

    const inbox = await client.query(InboxDocument, {}).toPromise();
    expect(inbox.error).toBeUndefined();
    expect(inbox.data!.unseenCount).toBe(0);
    const events: Event[] = [];
    const live = client
      .subscription(MyNotificationsDocument, { after: inbox.data!.eventCursor })
      .subscribe(({ data }) => data && events.push(data.myNotifications));

    const sent = await send(server, {
      category: 'exports',
      recipientIds: ['urql-user'],
      title: 'Report ready',
    });
    await arrived(events, 1);
    expect(events[0]).toMatchObject({
      type: 'CREATED',
      unseenCount: 1,
      notification: { id: sent.notification.id, title: 'Report ready' },
    });

    const marked = await client
      .mutation(MarkSeenDocument, { ids: [sent.notification.id] })
      .toPromise();
    expect(marked.error).toBeUndefined();
    await arrived(events, 2);
    expect(events[1]).toMatchObject({ type: 'SEEN', unseenCount: 0 });
    live.unsubscribe();
  });
});

describe('Server-Sent Events', () => {
  /** myNotifications as a `text/event-stream` response; fetch, as a browser could do it too. */
  async function subscribeOverSse(headers: Record<string, string>, after?: string) {
    const controller = new AbortController();
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query: print(MyNotificationsDocument), variables: { after } }),
      signal: controller.signal,
    });
    const results: { data?: MyNotificationsSubscription; errors?: { extensions?: unknown }[] }[] =
      [];
    const reading = (async () => {
      for await (const event of serverSentEvents(response.body!)) {
        if (event.event === 'next') results.push(JSON.parse(event.data) as (typeof results)[0]);
      }
    })().catch((error: unknown) => {
      if ((error as Error).name !== 'AbortError') throw error;
    });
    return {
      response,
      results,
      close: async () => {
        controller.abort();
        await reading;
      },
    };
  }

  it('delivers myNotifications to a user authenticated with the Authorization header', async () => {
    const token = await server.token('sse-user');
    const { eventCursor } = await ok(server, InboxDocument, {}, 'sse-user');
    const stream = await subscribeOverSse({ authorization: `Bearer ${token}` }, eventCursor);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const sent = await send(server, {
      category: 'exports',
      recipientIds: ['sse-user'],
      title: 'Sent over SSE',
    });
    await arrived(stream.results, 1);
    expect(stream.results[0]!.data!.myNotifications).toMatchObject({
      type: 'CREATED',
      unseenCount: 1,
      notification: { id: sent.notification.id, title: 'Sent over SSE' },
    });
    await stream.close();
  });

  it('refuses the subscription without credentials', async () => {
    const stream = await subscribeOverSse({});
    await arrived(stream.results, 1);
    expect(stream.results[0]!.data).toBeFalsy();
    expect(stream.results[0]!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    await stream.close();
  });
});
