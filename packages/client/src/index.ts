export { createInbox, type Inbox, type InboxOptions } from './inbox.js';
export { createSharedInbox, type SharedInboxOptions } from './shared.js';
export { InboxError } from './http.js';
export { CLOSE, type CloseCode, type CloseName } from './close-codes.js';
export { backoff } from './backoff.js';
export type * from './types.js';
