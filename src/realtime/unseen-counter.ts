import type { Database } from '../db/client.js';
import { positionIn, type Cursor } from '../notifications/event-log.js';
import { unseenSummary } from '../notifications/inbox.js';
import { isExpired, type StreamEvent } from '../notifications/types.js';

/**
 * One subscriber's unseenCount, kept exact without a query per event: counted once from the
 * database (with the log position that count stands at), then moved by each later event.
 * Deletions, and expiries, which happen without an event, are counted afresh. Muted categories
 * are not counted; the user's mutes are read with each count.
 */
export class UnseenCounter {
  private count = 0;
  private countedAt: Cursor | undefined;
  private nextExpiry: Date | null = null;
  private muted = new Set<string>();

  constructor(
    private readonly database: Database,
    private readonly userId: string,
  ) {}

  /** The count once `event` has happened. */
  async after(event: StreamEvent): Promise<number> {
    const now = new Date();
    const stale = !this.countedAt || (this.nextExpiry !== null && this.nextExpiry <= now);
    if (stale || event.type === 'DELETED') {
      // A DELETED event does not say whether this user had seen it: count afresh.
      if (stale || event.seq > positionIn(this.countedAt!, event.stream)) await this.recount();
      return this.count;
    }
    if (event.seq <= positionIn(this.countedAt!, event.stream)) return this.count;
    const { notification } = event;
    if (isExpired(notification, now) || this.isMuted(notification.categoryName)) return this.count;
    if (event.type === 'CREATED') {
      this.count += 1;
      if (
        notification.expiresAt &&
        (!this.nextExpiry || notification.expiresAt < this.nextExpiry)
      ) {
        this.nextExpiry = notification.expiresAt;
      }
    }
    // Seen: no longer needs attention, unless it still waits for an acknowledgement.
    if (event.type === 'SEEN' && !notification.requireAck) this.count -= 1;
    if (event.type === 'ACKNOWLEDGED') this.count -= 1;
    return this.count;
  }

  /** Whether the user muted this category (as of the last count). */
  isMuted(category: string): boolean {
    return this.muted.has(category);
  }

  get current(): number {
    return this.count;
  }

  /** Counts from the database; returns the log position the count stands at. */
  async recount(): Promise<Cursor> {
    const summary = await unseenSummary(this.database, this.userId);
    this.count = summary.count;
    this.muted = new Set(summary.muted);
    this.nextExpiry = summary.nextExpiry;
    this.countedAt = summary.cursor;
    return summary.cursor;
  }
}
