/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation UpsertCategory($input: CategoryInput!) {\n  upsertCategory(input: $input) {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nquery Categories {\n  categories {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nmutation UpsertTemplate($input: TemplateInput!) {\n  upsertTemplate(input: $input) {\n    key\n    title\n    body\n  }\n}": typeof types.UpsertCategoryDocument,
    "fragment NotificationFields on Notification {\n  id\n  category\n  priority\n  title\n  body\n  data\n  icon\n  actionUrl\n  createdAt\n  expiresAt\n  deleteAt\n  requireAck\n  public\n  seenAt\n  acknowledgedAt\n}\n\nquery Inbox($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    ...NotificationFields\n  }\n  unseenCount\n  eventCursor\n}\n\nquery UnseenCount {\n  unseenCount\n}\n\nquery History($first: Int, $after: String) {\n  notifications(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...NotificationFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nmutation MarkSeen($ids: [ID!]!) {\n  markSeen(ids: $ids) {\n    ...NotificationFields\n  }\n}\n\nmutation MarkAllSeen {\n  markAllSeen\n}\n\nmutation Acknowledge($id: ID!) {\n  acknowledge(id: $id) {\n    ...NotificationFields\n  }\n}\n\nsubscription MyNotifications($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nsubscription PublicNotifications {\n  publicNotifications {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}": typeof types.NotificationFieldsFragmentDoc,
    "mutation SetCategoryPreference($category: String!, $muted: Boolean!) {\n  setCategoryPreference(category: $category, muted: $muted) {\n    category\n    muted\n  }\n}\n\nquery CategoryPreferences {\n  categoryPreferences {\n    category\n    muted\n  }\n}\n\nsubscription MyNotificationsWithDigests($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      id\n      title\n    }\n    notifications {\n      id\n      title\n    }\n  }\n}": typeof types.SetCategoryPreferenceDocument,
    "mutation SendNotification($input: SendNotificationInput!) {\n  sendNotification(input: $input) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nmutation SendNotifications($inputs: [SendNotificationInput!]!) {\n  sendNotifications(inputs: $inputs) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}": typeof types.SendNotificationDocument,
    "query Templates {\n  templates {\n    key\n    title\n    body\n  }\n}\n\nquery UnseenNotifications($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    id\n    title\n    seenAt\n    acknowledgedAt\n  }\n}\n\nquery EventCursor {\n  eventCursor\n}": typeof types.TemplatesDocument,
    "query Viewer {\n  viewer {\n    kind\n    id\n    admin\n  }\n}": typeof types.ViewerDocument,
};
const documents: Documents = {
    "mutation UpsertCategory($input: CategoryInput!) {\n  upsertCategory(input: $input) {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nquery Categories {\n  categories {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nmutation UpsertTemplate($input: TemplateInput!) {\n  upsertTemplate(input: $input) {\n    key\n    title\n    body\n  }\n}": types.UpsertCategoryDocument,
    "fragment NotificationFields on Notification {\n  id\n  category\n  priority\n  title\n  body\n  data\n  icon\n  actionUrl\n  createdAt\n  expiresAt\n  deleteAt\n  requireAck\n  public\n  seenAt\n  acknowledgedAt\n}\n\nquery Inbox($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    ...NotificationFields\n  }\n  unseenCount\n  eventCursor\n}\n\nquery UnseenCount {\n  unseenCount\n}\n\nquery History($first: Int, $after: String) {\n  notifications(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...NotificationFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nmutation MarkSeen($ids: [ID!]!) {\n  markSeen(ids: $ids) {\n    ...NotificationFields\n  }\n}\n\nmutation MarkAllSeen {\n  markAllSeen\n}\n\nmutation Acknowledge($id: ID!) {\n  acknowledge(id: $id) {\n    ...NotificationFields\n  }\n}\n\nsubscription MyNotifications($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nsubscription PublicNotifications {\n  publicNotifications {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}": types.NotificationFieldsFragmentDoc,
    "mutation SetCategoryPreference($category: String!, $muted: Boolean!) {\n  setCategoryPreference(category: $category, muted: $muted) {\n    category\n    muted\n  }\n}\n\nquery CategoryPreferences {\n  categoryPreferences {\n    category\n    muted\n  }\n}\n\nsubscription MyNotificationsWithDigests($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      id\n      title\n    }\n    notifications {\n      id\n      title\n    }\n  }\n}": types.SetCategoryPreferenceDocument,
    "mutation SendNotification($input: SendNotificationInput!) {\n  sendNotification(input: $input) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nmutation SendNotifications($inputs: [SendNotificationInput!]!) {\n  sendNotifications(inputs: $inputs) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}": types.SendNotificationDocument,
    "query Templates {\n  templates {\n    key\n    title\n    body\n  }\n}\n\nquery UnseenNotifications($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    id\n    title\n    seenAt\n    acknowledgedAt\n  }\n}\n\nquery EventCursor {\n  eventCursor\n}": types.TemplatesDocument,
    "query Viewer {\n  viewer {\n    kind\n    id\n    admin\n  }\n}": types.ViewerDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpsertCategory($input: CategoryInput!) {\n  upsertCategory(input: $input) {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nquery Categories {\n  categories {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nmutation UpsertTemplate($input: TemplateInput!) {\n  upsertTemplate(input: $input) {\n    key\n    title\n    body\n  }\n}"): (typeof documents)["mutation UpsertCategory($input: CategoryInput!) {\n  upsertCategory(input: $input) {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nquery Categories {\n  categories {\n    name\n    expireAfterSeconds\n    deleteAfterSeconds\n    requireAck\n    priority\n  }\n}\n\nmutation UpsertTemplate($input: TemplateInput!) {\n  upsertTemplate(input: $input) {\n    key\n    title\n    body\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment NotificationFields on Notification {\n  id\n  category\n  priority\n  title\n  body\n  data\n  icon\n  actionUrl\n  createdAt\n  expiresAt\n  deleteAt\n  requireAck\n  public\n  seenAt\n  acknowledgedAt\n}\n\nquery Inbox($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    ...NotificationFields\n  }\n  unseenCount\n  eventCursor\n}\n\nquery UnseenCount {\n  unseenCount\n}\n\nquery History($first: Int, $after: String) {\n  notifications(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...NotificationFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nmutation MarkSeen($ids: [ID!]!) {\n  markSeen(ids: $ids) {\n    ...NotificationFields\n  }\n}\n\nmutation MarkAllSeen {\n  markAllSeen\n}\n\nmutation Acknowledge($id: ID!) {\n  acknowledge(id: $id) {\n    ...NotificationFields\n  }\n}\n\nsubscription MyNotifications($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nsubscription PublicNotifications {\n  publicNotifications {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}"): (typeof documents)["fragment NotificationFields on Notification {\n  id\n  category\n  priority\n  title\n  body\n  data\n  icon\n  actionUrl\n  createdAt\n  expiresAt\n  deleteAt\n  requireAck\n  public\n  seenAt\n  acknowledgedAt\n}\n\nquery Inbox($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    ...NotificationFields\n  }\n  unseenCount\n  eventCursor\n}\n\nquery UnseenCount {\n  unseenCount\n}\n\nquery History($first: Int, $after: String) {\n  notifications(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...NotificationFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nmutation MarkSeen($ids: [ID!]!) {\n  markSeen(ids: $ids) {\n    ...NotificationFields\n  }\n}\n\nmutation MarkAllSeen {\n  markAllSeen\n}\n\nmutation Acknowledge($id: ID!) {\n  acknowledge(id: $id) {\n    ...NotificationFields\n  }\n}\n\nsubscription MyNotifications($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nsubscription PublicNotifications {\n  publicNotifications {\n    type\n    cursor\n    unseenCount\n    notification {\n      ...NotificationFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetCategoryPreference($category: String!, $muted: Boolean!) {\n  setCategoryPreference(category: $category, muted: $muted) {\n    category\n    muted\n  }\n}\n\nquery CategoryPreferences {\n  categoryPreferences {\n    category\n    muted\n  }\n}\n\nsubscription MyNotificationsWithDigests($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      id\n      title\n    }\n    notifications {\n      id\n      title\n    }\n  }\n}"): (typeof documents)["mutation SetCategoryPreference($category: String!, $muted: Boolean!) {\n  setCategoryPreference(category: $category, muted: $muted) {\n    category\n    muted\n  }\n}\n\nquery CategoryPreferences {\n  categoryPreferences {\n    category\n    muted\n  }\n}\n\nsubscription MyNotificationsWithDigests($after: String) {\n  myNotifications(after: $after) {\n    type\n    cursor\n    unseenCount\n    notification {\n      id\n      title\n    }\n    notifications {\n      id\n      title\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SendNotification($input: SendNotificationInput!) {\n  sendNotification(input: $input) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nmutation SendNotifications($inputs: [SendNotificationInput!]!) {\n  sendNotifications(inputs: $inputs) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}"): (typeof documents)["mutation SendNotification($input: SendNotificationInput!) {\n  sendNotification(input: $input) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}\n\nmutation SendNotifications($inputs: [SendNotificationInput!]!) {\n  sendNotifications(inputs: $inputs) {\n    recipientCount\n    deduplicated\n    notification {\n      ...NotificationFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Templates {\n  templates {\n    key\n    title\n    body\n  }\n}\n\nquery UnseenNotifications($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    id\n    title\n    seenAt\n    acknowledgedAt\n  }\n}\n\nquery EventCursor {\n  eventCursor\n}"): (typeof documents)["query Templates {\n  templates {\n    key\n    title\n    body\n  }\n}\n\nquery UnseenNotifications($limit: Int) {\n  unseenNotifications(limit: $limit) {\n    id\n    title\n    seenAt\n    acknowledgedAt\n  }\n}\n\nquery EventCursor {\n  eventCursor\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Viewer {\n  viewer {\n    kind\n    id\n    admin\n  }\n}"): (typeof documents)["query Viewer {\n  viewer {\n    kind\n    id\n    admin\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;