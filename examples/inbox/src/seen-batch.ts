// Cards come into view one by one as the list scrolls: what they show goes to the service as one
// markSeen, BATCH_MS after the first of them.

const BATCH_MS = 200;

export class SeenBatch {
  private readonly queued = new Set<string>();
  private timer?: ReturnType<typeof setTimeout>;

  constructor(private readonly markSeen: (ids: string[]) => void) {}

  add(ids: string[]): void {
    for (const id of ids) this.queued.add(id);
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Marked unread before the batch went: not marked seen after all. */
  drop(ids: string[]): void {
    for (const id of ids) this.queued.delete(id);
  }

  private flush(): void {
    this.timer = undefined;
    const ids = [...this.queued];
    this.queued.clear();
    if (ids.length > 0) this.markSeen(ids);
  }
}
