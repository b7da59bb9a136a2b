import type pg from 'pg';
import { inTransaction, type Database, type Pool } from '../db/client.js';
import { DomainError } from '../errors.js';
import { userStream } from './types.js';
import { LIMITS, badInput } from './validation.js';

// Topics, the third audience: users join them (subscribeToTopic) or services put users in them
// (addTopicMembers). A send to a topic is a private send to each member at the time of the send
// (addressTopicSends): the members are read in index order and stored by the one send statement,
// one receipt and one event each, committed together before the send is answered; the events
// then travel in bounded bus messages like any large send's. A topic send is stored alone (it
// weighs a whole group commit), and TOPIC_MAX_MEMBERS bounds its statement. Membership changes
// lock the topic's row, which keeps its member count (never recounted) and the limit exact.

export interface MembersChange {
  /** Members actually added or removed (those already in, or not in, do not count). */
  changed: number;
  memberCount: number;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface TopicSummary {
  name: string;
  /** Null when a user lists their own topics: how many others are in one is not theirs. */
  memberCount: number | null;
}

/** Throws BAD_USER_INPUT unless `topic` is a usable name; returns it. */
export function checkTopic(topic: string): string {
  if (topic.length === 0 || topic.length > LIMITS.topicLength) {
    badInput(`topic must be 1-${LIMITS.topicLength} characters`);
  }
  return topic;
}

/** Distinct user ids, sorted (rows are then locked in one order), within the per-call limit. */
function memberIds(userIds: readonly string[]): string[] {
  if (userIds.length === 0) badInput('userIds must not be empty');
  if (userIds.length > LIMITS.topicMembersPerCall) {
    badInput(`at most ${LIMITS.topicMembersPerCall} userIds per call`);
  }
  if (userIds.some((id) => id.length === 0 || id.length > LIMITS.userIdLength)) {
    badInput(`each user id must be 1-${LIMITS.userIdLength} characters`);
  }
  return [...new Set(userIds)].sort();
}

const rowsOf = async (client: pg.ClientBase, text: string, values: unknown[]) =>
  (await client.query<Record<string, unknown>>(text, values)).rows;

/** What addressTopicSends reads and fills of a send (send-statement.ts's StoredSend). */
interface Addressable {
  topic?: string | null;
  recipients: string[];
  streams: string[];
}

/**
 * Each topic send of `sends` with its members as recipients, read in the caller's transaction,
 * which first holds the topic's row FOR SHARE: membership changes, which lock it FOR UPDATE, wait
 * until the send commits, so the members read are exactly those at the send. Members are read
 * in primary-key order and handed to the send statement as arrays, as recipientIds are: the
 * planner then knows how many rows it joins (a join on the table inside the statement was
 * estimated from averages and fell into nested loops, quadratic in a large topic).
 */
export async function addressTopicSends<S extends Addressable>(
  client: pg.ClientBase,
  sends: S[],
): Promise<S[]> {
  const addressed: S[] = [];
  for (const send of sends) {
    if (send.topic == null) {
      addressed.push(send);
      continue;
    }
    await client.query(`SELECT FROM "Topic" WHERE name = $1 FOR SHARE`, [send.topic]);
    const { rows } = await client.query<{ userId: string }>(
      `SELECT "userId" FROM "TopicMember" WHERE topic = $1 ORDER BY "userId"`,
      [send.topic],
    );
    const recipients = rows.map((row) => row.userId);
    addressed.push({ ...send, recipients, streams: recipients.map(userStream) });
  }
  return addressed;
}

/** Adds users to a topic (created with its first member); refused whole past `maxMembers`. */
export function addMembers(
  pool: Pool,
  topic: string,
  userIds: readonly string[],
  maxMembers: number,
): Promise<MembersChange> {
  checkTopic(topic);
  const ids = memberIds(userIds);
  return inTransaction(pool, async (client) => {
    // Locks the topic's row first, as removals do, so membership changes never deadlock.
    await client.query(
      `INSERT INTO "Topic" (name) VALUES ($1)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name`,
      [topic],
    );
    const [row] = await rowsOf(
      client,
      `WITH added AS (
         INSERT INTO "TopicMember" (topic, "userId")
         SELECT $1, u FROM unnest($2::text[]) u ORDER BY u
         ON CONFLICT DO NOTHING RETURNING 1)
       UPDATE "Topic" SET "memberCount" = "memberCount" + (SELECT count(*) FROM added)
       WHERE name = $1
       RETURNING "memberCount", (SELECT count(*) FROM added)::int AS changed`,
      [topic, ids],
    );
    const change = row as unknown as MembersChange;
    if (change.memberCount > maxMembers) {
      throw new DomainError(
        'TOPIC_MEMBER_LIMIT',
        `a topic has at most ${maxMembers} members: "${topic}" has ${change.memberCount - change.changed}, and ${change.changed} more were to be added`,
      );
    }
    return change;
  });
}

/** Takes users out of a topic; a topic left without members is removed. */
export function removeMembers(
  pool: Pool,
  topic: string,
  userIds: readonly string[],
): Promise<MembersChange> {
  checkTopic(topic);
  const ids = memberIds(userIds);
  return inTransaction(pool, async (client) => {
    const [locked] = await rowsOf(client, `SELECT FROM "Topic" WHERE name = $1 FOR UPDATE`, [
      topic,
    ]);
    if (!locked) return { changed: 0, memberCount: 0 };
    const [row] = await rowsOf(
      client,
      `WITH removed AS (
         DELETE FROM "TopicMember" WHERE topic = $1 AND "userId" = ANY($2::text[]) RETURNING 1)
       UPDATE "Topic" SET "memberCount" = "memberCount" - (SELECT count(*) FROM removed)
       WHERE name = $1
       RETURNING "memberCount", (SELECT count(*) FROM removed)::int AS changed`,
      [topic, ids],
    );
    await client.query(`DELETE FROM "Topic" WHERE name = $1 AND "memberCount" = 0`, [topic]);
    return row as unknown as MembersChange;
  });
}

/** Cursors are opaque to clients: the last key of a page, base64url. */
const encodeCursor = (key: string) => Buffer.from(key).toString('base64url');
const decodeCursor = (cursor: string | null | undefined) =>
  cursor == null ? undefined : Buffer.from(cursor, 'base64url').toString();

function pageSize(first: number | null | undefined): number {
  const size = first ?? LIMITS.topicPageDefault;
  if (!Number.isInteger(size) || size < 1 || size > LIMITS.topicPage) {
    badInput(`first must be 1-${LIMITS.topicPage}`);
  }
  return size;
}

/** Reads one more row than asked for, to know whether a next page exists. */
async function pageOf<T>(
  first: number | null | undefined,
  read: (take: number) => Promise<T[]>,
  keyOf: (item: T) => string,
): Promise<Page<T>> {
  const size = pageSize(first);
  const rows = await read(size + 1);
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    hasNextPage: rows.length > size,
    endCursor: last === undefined ? null : encodeCursor(keyOf(last)),
  };
}

/** A topic's members in user id order (its primary key's), a page at a time. */
export function membersPage(
  database: Database,
  topic: string,
  first?: number | null,
  after?: string | null,
): Promise<Page<string>> {
  checkTopic(topic);
  const from = decodeCursor(after);
  return pageOf(
    first,
    async (take) =>
      (
        await database.topicMember.findMany({
          where: { topic, ...(from === undefined ? {} : { userId: { gt: from } }) },
          orderBy: { userId: 'asc' },
          select: { userId: true },
          take,
        })
      ).map((row) => row.userId),
    (userId) => userId,
  );
}

/** The topics `userId` is in, or (for a service, userId undefined) every topic, by name. */
export function topicsPage(
  database: Database,
  userId: string | undefined,
  first?: number | null,
  after?: string | null,
): Promise<Page<TopicSummary>> {
  const from = decodeCursor(after);
  const name = from === undefined ? {} : { gt: from };
  const byName = (item: TopicSummary) => item.name;
  if (userId === undefined) {
    return pageOf(
      first,
      (take) =>
        database.topic.findMany({
          where: { name },
          orderBy: { name: 'asc' },
          select: { name: true, memberCount: true },
          take,
        }),
      byName,
    );
  }
  return pageOf(
    first,
    async (take) =>
      (
        await database.topicMember.findMany({
          where: { userId, topic: name },
          orderBy: { topic: 'asc' },
          select: { topic: true },
          take,
        })
      ).map((row) => ({ name: row.topic, memberCount: null })),
    byName,
  );
}
