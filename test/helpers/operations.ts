import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  InboxDocument,
  MyNotificationsDocument,
  SendNotificationDocument,
  UpsertCategoryDocument,
  type CategoryInput,
  type SendNotificationInput,
} from '../../client/graphql.js';
import { TEST_API_KEY, type Auth, type TestServer } from './server.js';
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

/**
 * Follows a user's myNotifications from `after`, or from the current cursor: whatever is sent
 * once this resolves is certain to arrive (replay covers the moment before the socket listens).
 */
export async function follow(server: TestServer, userId: string, after?: string) {
  const cursor = after ?? (await ok(server, InboxDocument, {}, userId)).eventCursor;
  return subscribe(await userSocket(server, userId), MyNotificationsDocument, { after: cursor });
}
