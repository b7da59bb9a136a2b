import { Prisma } from '../generated/prisma/client.js';
import type { Database } from '../db/client.js';
import {
  PUBLIC_STREAM,
  type NotificationPriority,
  type StreamEvent,
} from '../notifications/types.js';

// When public notifications expire, every subscriber's count may drop, with no event to say so.
// Rather than each subscriber recounting at that moment (all at once), the instance keeps one
// shared list of the public notifications that expire, and each counter subtracts the ones it
// counted. It is shared by every subscriber of the instance, so nothing per user grows with it.
// It holds the next page of upcoming expiries, not all of them: the page after it is read
// (through "Notification_publicExpiresAt_idx") when the time comes to apply it.

export interface Expiring {
  id: string;
  seq: bigint;
  categoryName: string;
  priority: NotificationPriority;
  requireAck: boolean;
  expiresAt: Date;
  /** Its CREATED event's seq in the public stream (0 once the log forgot it). */
  eventSeq: bigint;
}

/** What the list needs of a counter: how far it has applied expiries. */
export interface ExpiryReader {
  readonly checkedUntil: Date;
}

const PRUNE_EVERY_MS = 60_000;
const PAGE_SIZE = 1000;

/** A position in the order the list and its pages follow: by expiry, then id. */
export interface ExpiryKey {
  at: Date;
  id: string;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const compare = (a: ExpiryKey, b: ExpiryKey) =>
  a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const keyOf = (entry: Expiring): ExpiryKey => ({ at: entry.expiresAt, id: entry.id });

export class PublicExpiries {
  /** Sorted by expiresAt, then id. */
  private entries: Expiring[] = [];
  private readonly ids = new Set<string>();
  /** The public stream position the list is complete up to. */
  private known = -1n;
  /** The list holds every expiry up to this key; undefined: every one there is. */
  private loadedThrough: ExpiryKey | undefined;
  private loading: Promise<void> | undefined;
  private paging: Promise<void> | undefined;
  /** While a page is read: entries add() left out for lying past what the list held. */
  private passedOver: Expiring[] | undefined;
  private readonly readers = new Set<ExpiryReader>();
  private prunedAt = Date.now();
  private readonly pageSize: number;

  constructor(
    private readonly database: Database,
    options: { pageSize?: number } = {},
  ) {
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  /** Makes the list complete up to `position` of the public stream (one query per instance). */
  async reach(position: bigint): Promise<void> {
    while (this.known < position) {
      this.loading ??= this.load().finally(() => (this.loading = undefined));
      await this.loading;
    }
  }

  /** Takes a public event its caller has, in stream order; events past a gap wait for reach(). */
  absorb(event: StreamEvent) {
    if (event.stream !== PUBLIC_STREAM || event.seq !== this.known + 1n) return;
    this.known = event.seq;
    const { notification } = event;
    if (event.type === 'CREATED' && notification.expiresAt) {
      this.add({ ...notification, expiresAt: notification.expiresAt, eventSeq: event.seq });
      this.trim();
    }
  }

  /** Makes the list hold every expiry up to `time`, a page (one query per instance) at a time. */
  async cover(time: Date): Promise<void> {
    while (this.loadedThrough && this.loadedThrough.at <= time) {
      this.paging ??= this.loadPage().finally(() => (this.paging = undefined));
      await this.paging;
    }
  }

  /** The public notifications with after < expiresAt <= upTo; cover(upTo) first. */
  expiring(after: Date, upTo: Date): Expiring[] {
    this.pruneNowAndThen();
    const from = this.firstAfter(after);
    const found: Expiring[] = [];
    for (let i = from; i < this.entries.length && this.entries[i]!.expiresAt <= upTo; i++) {
      found.push(this.entries[i]!);
    }
    return found;
  }

  register(reader: ExpiryReader) {
    this.readers.add(reader);
  }

  unregister(reader: ExpiryReader) {
    this.readers.delete(reader);
  }

  get size() {
    return this.entries.length;
  }

  private async load() {
    if (this.known < 0n) return this.loadAll();
    const rows = await this.database.$queryRaw<
      (Omit<Expiring, 'eventSeq' | 'expiresAt'> & {
        expiresAt: Date | null;
        eventSeq: bigint;
        type: string;
      })[]
    >`
      SELECT e.seq AS "eventSeq", e.type, n.id, n.seq, n."categoryName", n.priority,
        n."requireAck", n."expiresAt"
      FROM "Event" e LEFT JOIN "Notification" n ON n.id = e."notificationId"
      WHERE e.stream = ${PUBLIC_STREAM} AND e.seq > ${this.known} ORDER BY e.seq
      LIMIT ${this.pageSize}`;
    // The log was pruned past what the list knows: start again from the table.
    if (rows.length > 0 && rows[0]!.eventSeq !== this.known + 1n) return this.loadAll();
    for (const row of rows) {
      if (row.type === 'CREATED' && row.id && row.expiresAt) {
        this.add({ ...row, expiresAt: row.expiresAt });
      }
      this.known = row.eventSeq;
    }
    this.trim();
    if (rows.length === 0) this.known = await this.head();
  }

  /** Starts again from the table: the next page is read when a counter needs it. */
  private async loadAll() {
    const known = await this.head();
    this.entries = [];
    this.ids.clear();
    // A minute back: a counter may have counted one that expired just before this ran.
    this.loadedThrough = { at: new Date(Date.now() - 60_000), id: NIL_UUID };
    this.known = known;
  }

  private async loadPage() {
    const after = this.loadedThrough;
    if (!after) return;
    // Ones taken in from events while the page is read may have committed after its snapshot.
    const passedOver: Expiring[] = [];
    this.passedOver = passedOver;
    let rows: Expiring[];
    try {
      rows = await this.database.$queryRaw<Expiring[]>(expiriesPageSql(after, this.pageSize));
    } finally {
      this.passedOver = undefined;
    }
    // Moved first, so that add() takes the page in.
    this.loadedThrough = rows.length < this.pageSize ? undefined : keyOf(rows.at(-1)!);
    for (const row of [...rows, ...passedOver]) this.add(row);
  }

  private async head() {
    const [row] = await this.database.$queryRaw<{ seq: bigint }[]>`
      SELECT COALESCE((SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}), 0) AS seq`;
    return row!.seq;
  }

  /** Takes an entry in if it falls within what the list holds. */
  private add(entry: Expiring) {
    if (this.ids.has(entry.id)) return;
    if (this.loadedThrough && compare(keyOf(entry), this.loadedThrough) > 0) {
      this.passedOver?.push(entry);
      return;
    }
    this.ids.add(entry.id);
    this.entries.splice(this.indexOf(keyOf(entry)), 0, {
      id: entry.id,
      seq: entry.seq,
      categoryName: entry.categoryName,
      priority: entry.priority,
      requireAck: entry.requireAck,
      expiresAt: entry.expiresAt,
      eventSeq: entry.eventSeq,
    });
  }

  /**
   * Past a page of upcoming expiries taken in from events, drops the latest ones (read again
   * when their time comes). Only upcoming ones: a counter may still have to apply those that
   * have passed. Not after a page read: cover() needs what it read.
   */
  private trim() {
    const upcoming = this.entries.length - this.firstAfter(new Date());
    if (upcoming <= this.pageSize) return;
    const dropped = this.entries.splice(this.entries.length - (upcoming - this.pageSize));
    for (const entry of dropped) this.ids.delete(entry.id);
    this.loadedThrough = keyOf(this.entries.at(-1)!);
  }

  /** The index where an entry with `key` belongs. */
  private indexOf(key: ExpiryKey) {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compare(keyOf(this.entries[middle]!), key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The index of the first entry expiring after `time`. */
  private firstAfter(time: Date) {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.entries[middle]!.expiresAt <= time) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Drops what every counter has applied already (or, with none, what has expired). */
  private pruneNowAndThen() {
    if (Date.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = Date.now();
    let horizon = new Date();
    for (const reader of this.readers) {
      if (reader.checkedUntil < horizon) horizon = reader.checkedUntil;
    }
    const keep = this.firstAfter(horizon);
    for (const entry of this.entries.slice(0, keep)) this.ids.delete(entry.id);
    this.entries = this.entries.slice(keep);
  }
}

/**
 * The next `limit` public notifications that expire after `after`, in order, with their CREATED
 * event's seq (0 once the log forgot it); walks "Notification_publicExpiresAt_idx".
 */
export function expiriesPageSql(after: ExpiryKey, limit: number): Prisma.Sql {
  return Prisma.sql`
    SELECT n.id, n.seq, n."categoryName", n.priority, n."requireAck", n."expiresAt",
      COALESCE(e.seq, 0) AS "eventSeq"
    FROM (
      SELECT id, seq, "categoryName", priority, "requireAck", "expiresAt" FROM "Notification"
      WHERE public AND "expiresAt" IS NOT NULL
        AND ("expiresAt", id) > (${after.at}::timestamptz, ${after.id}::uuid)
      ORDER BY "expiresAt", id LIMIT ${limit}
    ) n
    LEFT JOIN "Event" e
      ON e."notificationId" = n.id AND e.stream = ${PUBLIC_STREAM} AND e.type = 'CREATED'
    ORDER BY n."expiresAt", n.id`;
}

const perDatabase = new WeakMap<Database, PublicExpiries>();

/** The instance's list: one per database client, shared by all its subscribers. */
export function publicExpiriesOf(database: Database): PublicExpiries {
  let list = perDatabase.get(database);
  if (!list) {
    list = new PublicExpiries(database);
    perDatabase.set(database, list);
  }
  return list;
}
