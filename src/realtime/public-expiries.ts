import type { Database } from '../db/client.js';
import { PUBLIC_STREAM, type StreamEvent } from '../notifications/types.js';

// When public notifications expire, every subscriber's count may drop, with no event to say so.
// Rather than each subscriber recounting at that moment (all at once), the instance keeps one
// shared list of the public notifications that expire, and each counter subtracts the ones it
// counted. It is shared by every subscriber of the instance, so nothing per user grows with it.

export interface Expiring {
  id: string;
  seq: bigint;
  categoryName: string;
  expiresAt: Date;
  /** Its CREATED event's seq in the public stream (0 once the log forgot it). */
  eventSeq: bigint;
}

/** What the list needs of a counter: how far it has applied expiries. */
export interface ExpiryReader {
  readonly checkedUntil: Date;
}

const PRUNE_EVERY_MS = 60_000;

export class PublicExpiries {
  /** Sorted by expiresAt. */
  private entries: Expiring[] = [];
  private readonly ids = new Set<string>();
  /** The public stream position the list is complete up to. */
  private known = -1n;
  private loading: Promise<void> | undefined;
  private readonly readers = new Set<ExpiryReader>();
  private prunedAt = Date.now();

  constructor(private readonly database: Database) {}

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
    }
  }

  /** The public notifications with after < expiresAt <= upTo. */
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
      SELECT e.seq AS "eventSeq", e.type, n.id, n.seq, n."categoryName", n."expiresAt"
      FROM "Event" e LEFT JOIN "Notification" n ON n.id = e."notificationId"
      WHERE e.stream = ${PUBLIC_STREAM} AND e.seq > ${this.known} ORDER BY e.seq`;
    // The log was pruned past what the list knows: start again from the table.
    if (rows.length > 0 && rows[0]!.eventSeq !== this.known + 1n) return this.loadAll();
    for (const row of rows) {
      if (row.type === 'CREATED' && row.id && row.expiresAt) {
        this.add({ ...row, expiresAt: row.expiresAt });
      }
      this.known = row.eventSeq;
    }
    if (rows.length === 0) this.known = await this.head();
  }

  private async loadAll() {
    // A minute back: a counter may have counted one that expired just before this ran. The
    // CREATED event's seq tells counters that started before it that they never counted it.
    const rows = await this.database.$queryRaw<(Expiring & { head: bigint })[]>`
      SELECT COALESCE((SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}), 0) AS head,
        n.id, n.seq, n."categoryName", n."expiresAt", COALESCE(e.seq, 0) AS "eventSeq"
      FROM (SELECT 1) one
        LEFT JOIN "Notification" n ON n.public AND n."expiresAt" > now() - interval '1 minute'
        LEFT JOIN "Event" e
          ON e."notificationId" = n.id AND e.stream = ${PUBLIC_STREAM} AND e.type = 'CREATED'`;
    this.entries = [];
    this.ids.clear();
    for (const row of rows) if (row.id) this.add(row);
    this.known = rows[0]!.head;
  }

  private async head() {
    const [row] = await this.database.$queryRaw<{ seq: bigint }[]>`
      SELECT COALESCE((SELECT seq FROM "Stream" WHERE id = ${PUBLIC_STREAM}), 0) AS seq`;
    return row!.seq;
  }

  private add(entry: Expiring) {
    if (this.ids.has(entry.id)) return;
    this.ids.add(entry.id);
    const at = this.firstAfter(entry.expiresAt);
    this.entries.splice(at, 0, {
      id: entry.id,
      seq: entry.seq,
      categoryName: entry.categoryName,
      expiresAt: entry.expiresAt,
      eventSeq: entry.eventSeq,
    });
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
