import type { Database } from '../db/client.js';
import type { SqlReader } from '../db/sql-reader.js';
import { positionIn, type Cursor } from '../notifications/event-log.js';
import { unseenSummary } from '../notifications/inbox.js';
import { PUBLIC_STREAM, type StreamEvent } from '../notifications/types.js';
import {
  applyEvent,
  applyPrivateExpiries,
  applyPublicExpiry,
  type CountState,
  type InboxFilter,
} from '../notifications/visibility.js';
import { publicExpiriesOf, type ExpiryReader, type PublicExpiries } from './public-expiries.js';

/**
 * One subscriber's unseenCount, kept exact without a query per event: counted once from the
 * database (with the log position that count stands at), then moved by each later event with
 * the rules in visibility.ts. Public deletions and expiries are subtracted arithmetically (the
 * latter from the instance's shared list of expiring public notifications), so a public event
 * never makes every subscriber query the database. Only the user's own events that the
 * arithmetic cannot judge (a private deletion, markAllSeen, archiveAll, changed mutes) recount, for this
 * user alone. Counted private notifications expire by the same arithmetic, from the user's own
 * list of them (bounded by what they have unseen).
 */
export class UnseenCounter implements ExpiryReader {
  private state: CountState | undefined;
  private countedAt: Cursor | undefined;
  /** Expiries of public notifications are applied up to this time. */
  checkedUntil = new Date(0);
  /** The public stream position the count reflects. */
  private publicAccounted = 0n;
  private readonly expiries: PublicExpiries;

  constructor(
    database: Database,
    private readonly userId: string,
    /** What the subscriber narrowed its events and count to (categories and priorities). */
    readonly filter: InboxFilter = {},
    /** Where counts are read: every connecting client counts, so a prepared pg reader there. */
    private readonly counts: SqlReader = database,
  ) {
    this.expiries = publicExpiriesOf(database);
  }

  /** The count once `event` has happened. */
  async after(event: StreamEvent): Promise<number> {
    const now = new Date();
    if (!this.state || !this.countedAt) await this.recount();
    await this.expiries.cover(now);
    this.expire(now);
    if (event.seq <= positionIn(this.countedAt!, event.stream)) return this.current;
    if (event.stream === PUBLIC_STREAM) {
      await this.expiries.reach(event.seq - 1n);
      this.expiries.absorb(event);
    }
    const outcome = applyEvent(this.state!, event, now);
    if (event.stream === PUBLIC_STREAM) this.publicAccounted = event.seq;
    if (outcome === 'recount') await this.recount();
    return this.current;
  }

  /** Whether the user muted this category (as of the last count). */
  isMuted(category: string): boolean {
    return this.state?.muted.has(category) ?? false;
  }

  get current(): number {
    return this.state?.count ?? 0;
  }

  /** Counts from the database; returns the log position the count stands at. */
  async recount(): Promise<Cursor> {
    const summary = await unseenSummary(this.counts, this.userId, this.filter);
    await this.expiries.reach(summary.cursor.public);
    this.state = summary.state;
    this.countedAt = summary.cursor;
    this.checkedUntil = summary.countedAt;
    this.publicAccounted = summary.cursor.public;
    this.expiries.register(this);
    return summary.cursor;
  }

  /** The subscriber is gone: its expiries need not be kept for it. */
  close() {
    this.expiries.unregister(this);
  }

  /** Subtracts the counted notifications that expired since the last look. */
  private expire(now: Date) {
    applyPrivateExpiries(this.state!, now);
    if (now <= this.checkedUntil) return;
    for (const expired of this.expiries.expiring(this.checkedUntil, now)) {
      // Ones created after the count and not taken in yet were never counted.
      if (expired.eventSeq <= this.publicAccounted) applyPublicExpiry(this.state!, expired);
    }
    this.checkedUntil = now;
  }
}
