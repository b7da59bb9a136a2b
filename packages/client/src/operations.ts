// The operations the store sends. Each names its fields in full, so a change to the service's
// schema shows up as a failing test here rather than as a missing field in an app.

const NOTIFICATION_FIELDS = `
  id category priority title body data icon actionUrl createdAt expiresAt deleteAt requireAck
  public seenAt acknowledgedAt`;

/** One query, so the list, the count and the cursor describe the same moment. */
export const SNAPSHOT = `query InboxSnapshot($limit: Int) {
  unseenNotifications(limit: $limit) { ${NOTIFICATION_FIELDS} }
  unseenCount
  eventCursor
}`;

export const EVENTS = `subscription InboxEvents($after: String) {
  myNotifications(after: $after) {
    type cursor unseenCount
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
