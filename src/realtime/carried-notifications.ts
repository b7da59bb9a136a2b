import type { Database } from '../db/client.js';
import type { NotificationRecord, StreamEvent } from '../notifications/types.js';
import type { BusMessage } from './codec.js';

/** How many notifications received whole are kept for later messages that name them by id. */
const RECENT = 64;

/**
 * Turns the events of a bus message back into StreamEvents. A message names a notification by
 * id when its content came earlier (in the publish's first message) or is too large for a
 * message: it is taken from the few received recently, else read from the database, where it
 * was committed before it was published. Events of a notification deleted since are left out;
 * subscribers find them in the log (a gap, or a stream head ahead of them).
 */
export class CarriedNotifications {
  private readonly recent = new Map<string, NotificationRecord>();

  constructor(private readonly database: Database) {}

  async events(message: Extract<BusMessage, { events: unknown }>): Promise<StreamEvent[]> {
    // An UPDATED event's content is newer than any kept: named by id, it is read.
    const updated = new Set(
      message.events.filter((event) => event.type === 'UPDATED').map((e) => e.notification),
    );
    const records = message.notifications.map((carried, index) =>
      'record' in carried
        ? carried.record
        : updated.has(index)
          ? undefined
          : this.recent.get(carried.id),
    );
    for (const event of message.events) {
      const record = records[event.notification];
      // A DELETED event carries a tombstone, not the content later messages may refer to.
      if (record && event.type !== 'DELETED') this.remember(record);
    }
    await this.readMissing(message, records);
    return message.events.flatMap((event) => {
      const notification = records[event.notification];
      return notification ? [{ ...event, notification }] : [];
    });
  }

  private async readMissing(
    message: Extract<BusMessage, { events: unknown }>,
    records: (NotificationRecord | undefined)[],
  ) {
    const missing = message.notifications.flatMap((carried, index) =>
      'id' in carried && !records[index] ? [carried.id] : [],
    );
    if (missing.length === 0) return;
    const read = await this.database.notification.findMany({ where: { id: { in: missing } } });
    const byId = new Map(read.map((record) => [record.id, record]));
    message.notifications.forEach((carried, index) => {
      if ('id' in carried && !records[index]) records[index] = byId.get(carried.id);
    });
    for (const record of read) this.remember(record);
  }

  private remember(record: NotificationRecord) {
    this.recent.delete(record.id);
    this.recent.set(record.id, record);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value!);
  }
}
