import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  InboxDocument,
  MarkSeenDocument,
  SendNotificationDocument,
  UpsertCategoryDocument,
  type CategoryInput,
  type MyNotificationsSubscription,
  type SendNotificationInput,
} from '../../client/graphql.js';
import { TEST_API_KEY, type Auth, type TestServer } from './server.js';
import { AFTER_VARIABLE, asTyped, type Shape, type Transport } from './shapes.js';
import { sseClient } from './sse.js';
import { Stream } from './stream.js';

/** Runs a typed document from client/ over HTTP. */
export function run<R, V extends Record<string, unknown>>(
  server: TestServer,
  document: TypedDocumentNode<R, V>,
  variables: V,
  auth?: Auth,
) {
  return server.request<R>(print(document), variables, auth);
}

/** Runs a typed document and fails the test on any error. */
export async function ok<R, V extends Record<string, unknown>>(
  server: TestServer,
  document: TypedDocumentNode<R, V>,
  variables: V,
  auth?: Auth,
): Promise<R> {
  const result = await run(server, document, variables, auth);
  if (result.errors || !result.data) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

/** The first error's extensions.code, or undefined when there was none. */
export async function errorCode<R, V extends Record<string, unknown>>(
  server: TestServer,
  document: TypedDocumentNode<R, V>,
  variables: V,
  auth?: Auth,
) {
  const result = await run(server, document, variables, auth);
  return result.errors?.[0]?.extensions?.code as string | undefined;
}

export function subscribe<R, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables: V,
) {
  return new Stream<R>(client, print(document), variables);
}

export const ADMIN: Auth = { userId: 'admin', admin: true };
export const SERVICE: Auth = { apiKey: TEST_API_KEY };

export async function upsertCategory(server: TestServer, input: CategoryInput) {
  return (await ok(server, UpsertCategoryDocument, { input }, ADMIN)).upsertCategory;
}

export async function send(server: TestServer, input: SendNotificationInput) {
  return (await ok(server, SendNotificationDocument, { input }, SERVICE)).sendNotification;
}

/** A graphql-ws client signed in as `userId`. */
export async function userSocket(
  server: TestServer,
  userId: string,
  onClose?: (event: { code: number; reason: string }) => void,
) {
  return server.wsClient({ authorization: `Bearer ${await server.token(userId)}` }, { onClose });
}

/** Opens a signed-in socket and resolves once the server acknowledged or closed it. */
export async function connectAs(server: TestServer, userId: string, sessionId?: string) {
  const token = await server.token(userId, { sessionId });
  let closed: { code: number; reason: string } | undefined;
  const client = server.wsClient(
    { authorization: `Bearer ${token}` },
    { onClose: (event) => (closed = event) },
  );
  await new Promise<void>((resolve) => {
    client.on('connected', () => resolve());
    client.on('closed', () => resolve());
  });
  return { client, closed: () => closed };
}

export interface FollowOptions {
  /** How the operation is written (default: the typed document with `$after`). */
  shape?: Shape;
  /** graphql-ws (default) or Server-Sent Events. */
  transport?: Transport;
}

/**
 * Follows a user's myNotifications from `after`, or from the current cursor: whatever is sent
 * once this resolves is certain to arrive (replay covers the moment before the server listens).
 * A shape without `after` has no replay: see listening().
 */
export async function follow<T extends Followed = MyNotificationsSubscription>(
  server: TestServer,
  userId: string,
  after?: string,
  { shape = AFTER_VARIABLE, transport = 'graphql-ws' }: FollowOptions = {},
): Promise<Stream<T>> {
  // A connection of its own, closed with the stream: a test may follow a user many times.
  const socket = transport === 'graphql-ws' ? await userSocket(server, userId) : undefined;
  const client =
    socket ?? sseClient(server.url, { authorization: `Bearer ${await server.token(userId)}` });
  const options = {
    map: asTyped<T>(shape),
    ignore: isProbe,
    onClose: () => void socket?.dispose(),
  };
  if (!shape.resumes) {
    if (after !== undefined) throw new Error(`"${shape.name}" cannot resume from a cursor`);
    const { query, variables } = shape.operation();
    return listening(server, userId, new Stream<T>(client, query, variables, options));
  }
  const cursor = after ?? (await ok(server, InboxDocument, {}, userId)).eventCursor;
  const { query, variables } = shape.operation(cursor);
  return new Stream<T>(client, query, variables, options);
}

/** What follow() needs to read of an event, whatever else a shape selects. */
type Followed = { myNotifications: { type: string; notification: { title: string } } };

/** Title of the notifications follow() sends itself; streams set their events aside. */
const PROBE = 'follow() probe';
const PROBE_CATEGORY = 'follow-probe';
const isProbe = (result: { data?: Followed | null }) =>
  result.data?.myNotifications?.notification?.title?.startsWith(PROBE) === true;

/**
 * Resolves once a subscription without `after` surely listens. Nothing tells a client when the
 * server starts listening, and what is sent before is not replayed: so send the user a probe,
 * again every 250 ms until one arrives. Events arrive in order, so once one has, every probe that
 * ever will has too. The probes are then marked seen (their SEEN events awaited too), so that the
 * user's unseenCount and inbox are as they were; the probes' events stay in `stream.ignored`.
 */
async function listening<T extends Followed>(
  server: TestServer,
  userId: string,
  stream: Stream<T>,
) {
  await upsertCategory(server, { name: PROBE_CATEGORY });
  const probes: string[] = [];
  const deadline = Date.now() + 10_000;
  while (stream.ignored.length === 0) {
    if (Date.now() > deadline) {
      throw new Error(`waited 10000 ms for ${userId}'s subscription to receive a probe`);
    }
    const sent = await send(server, {
      category: PROBE_CATEGORY,
      recipientIds: [userId],
      title: `${PROBE} ${probes.length}`,
    });
    probes.push(sent.notification.id);
    await stream
      .waitFor(() => stream.ignored.length > 0, 250, 'a probe')
      .catch((error: unknown) => {
        if (stream.error || stream.completed) throw error;
      });
  }
  await ok(server, MarkSeenDocument, { ids: probes }, userId);
  const seen = () =>
    stream.ignored.filter((result) => result.data?.myNotifications.type === 'SEEN').length;
  await stream.waitFor(
    () => seen() === probes.length,
    5000,
    `SEEN events of ${probes.length} probes`,
  );
  return stream;
}
