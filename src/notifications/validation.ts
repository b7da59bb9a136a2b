import { DomainError } from '../errors.js';

// Limits on what callers may store; each breach is a BAD_USER_INPUT naming the field.

export const LIMITS = {
  titleLength: 200,
  bodyLength: 5000,
  dataBytes: 16 * 1024,
  urlLength: 2048,
  recipients: 10_000,
  userIdLength: 255,
  idempotencyKeyLength: 255,
  groupKeyLength: 255,
  idsPerCall: 500,
  topicLength: 255,
  /** User ids one addTopicMembers or removeTopicMembers call may carry. */
  topicMembersPerCall: 10_000,
  /** Rows of topics or topicMembers per page (and when `first` is left out). */
  topicPage: 1000,
  topicPageDefault: 100,
};

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function badInput(message: string): never {
  throw new DomainError('BAD_USER_INPUT', message);
}

export function checkName(field: string, value: string) {
  if (!NAME_PATTERN.test(value)) {
    badInput(`${field} must be 1-64 lower-case letters, digits, '.', '_' or '-'`);
  }
}

export function checkText(field: string, value: string | null | undefined, max: number) {
  if (value == null) return;
  if (value.length > max) badInput(`${field} must be at most ${max} characters`);
}

export function checkTitle(title: string) {
  if (title.trim().length === 0) badInput('title must not be empty');
  checkText('title', title, LIMITS.titleLength);
}

export function checkData(data: unknown) {
  if (data == null) return;
  if (Buffer.byteLength(JSON.stringify(data)) > LIMITS.dataBytes) {
    badInput(`data must be at most ${LIMITS.dataBytes} bytes of JSON`);
  }
}

/** Links are shown to users: only http(s) or a path on the client's own origin. */
export function checkLink(field: string, value: string | null | undefined) {
  if (value == null) return;
  checkText(field, value, LIMITS.urlLength);
  if (value.startsWith('/') && !value.startsWith('//')) return;
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    badInput(`${field} must be an http(s) URL or a path starting with /`);
  }
  if (protocol !== 'https:' && protocol !== 'http:') {
    badInput(`${field} must be an http(s) URL or a path starting with /`);
  }
}

export function checkPositiveSeconds(field: string, value: number | null | undefined) {
  if (value != null && (!Number.isInteger(value) || value <= 0)) {
    badInput(`${field} must be a positive whole number of seconds`);
  }
}

export function checkIds(ids: readonly string[]) {
  if (ids.length > LIMITS.idsPerCall) badInput(`at most ${LIMITS.idsPerCall} ids at once`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids that cannot name a notification are simply not found, like ids of other users'. */
export const isNotificationId = (id: string) => UUID.test(id);
/** Any id stored as a UUID (webhooks too): another string cannot name one. */
export const isUuid = isNotificationId;
