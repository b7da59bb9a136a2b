// The operations the store sends. Each names its fields in full, so a change to the service's
// schema shows up as a failing test here rather than as a missing field in an app.

const NOTIFICATION_FIELDS = `
  id category priority title body data icon actionUrl createdAt expiresAt deleteAt requireAck
  public seenAt acknowledgedAt archivedAt snoozedUntil updatedAt editedAt groupKey groupCount`;

/**
 * One query, so the list, the counts, the snoozed ones and the cursor describe the same moment
 * (the service reads every field of one request from one database snapshot). `seen` is the
 * newest seen ones: a reload keeps the seen cards it showed that are still there (and no more:
 * the service's query cost limit counts every field of every item).
 */
export const SNAPSHOT = `query InboxSnapshot($limit: Int) {
  inbox(limit: $limit) {
    notifications { ${NOTIFICATION_FIELDS} }
    unseenCount
    counts { category unseen }
    cursor
  }
  snoozed: notifications(first: 100, filter: { status: SNOOZED }) {
    nodes { ${NOTIFICATION_FIELDS} }
  }
  seen: notifications(first: 100, filter: { status: SEEN }) {
    nodes { id seenAt acknowledgedAt updatedAt }
  }
  categoryPreferences { category muted }
}`;

export const EVENTS = `subscription InboxEvents($after: String) {
  myNotifications(after: $after) {
    type cursor unseenCount replaces
    notification { ${NOTIFICATION_FIELDS} }
    notifications { ${NOTIFICATION_FIELDS} }
  }
}`;

export const HISTORY = `query InboxHistory($first: Int, $after: String) {
  notifications(first: $first, after: $after) {
    nodes { ${NOTIFICATION_FIELDS} }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const MARK_SEEN = `mutation InboxMarkSeen($ids: [ID!]!) {
  markSeen(ids: $ids) { ${NOTIFICATION_FIELDS} }
}`;

export const MARK_ALL_SEEN = `mutation InboxMarkAllSeen { markAllSeen }`;

export const ACKNOWLEDGE = `mutation InboxAcknowledge($id: ID!) {
  acknowledge(id: $id) { ${NOTIFICATION_FIELDS} }
}`;

export const SET_MUTED = `mutation InboxSetMuted($category: String!, $muted: Boolean!) {
  setCategoryPreference(category: $category, muted: $muted) { category muted }
}`;

/** Every category, and the user's choices (a category not listed is not muted). */
export const PREFERENCES = `query InboxPreferences {
  categories { name requireAck }
  categoryPreferences { category muted }
}`;

export const MARK_UNSEEN = `mutation InboxMarkUnseen($ids: [ID!]!) {
  markUnseen(ids: $ids) { ${NOTIFICATION_FIELDS} }
}`;

export const ARCHIVE = `mutation InboxArchive($ids: [ID!]!) {
  archive(ids: $ids) { ${NOTIFICATION_FIELDS} }
}`;

export const UNARCHIVE = `mutation InboxUnarchive($ids: [ID!]!) {
  unarchive(ids: $ids) { ${NOTIFICATION_FIELDS} }
}`;

export const ARCHIVE_ALL = `mutation InboxArchiveAll($filter: NotificationFilter) {
  archiveAll(filter: $filter)
}`;

export const SNOOZE = `mutation InboxSnooze($id: ID!, $until: DateTime!) {
  snooze(id: $id, until: $until) { ${NOTIFICATION_FIELDS} }
}`;
