// Group commit: concurrent callers' items are written by one statement and one commit instead of
// one each, which is what PostgreSQL spends most of a small write on (a send, a removed record). A caller's promise settles
// only once the statement holding its items has committed (or failed).

export interface GroupCommitOptions<Item, Result> {
  /** Stores `items` in one statement; resolves with one result per item, in order. */
  store(items: Item[]): Promise<Result[]>;
  /** Items per statement; a unit larger than this is stored alone. */
  maxItems: number;
  /** What one item weighs (e.g. its recipients), and the most a statement may carry. */
  weight(item: Item): number;
  maxWeight: number;
  /** Statements in flight at once; callers arriving meanwhile wait for the next one. */
  concurrency: number;
}

export interface GroupCommit<Item, Result> {
  /** Stores `items` together (all in one statement, or none), possibly beside others'. */
  submit(items: Item[]): Promise<Result[]>;
}

interface Unit<Item, Result> {
  items: Item[];
  weight: number;
  resolve(results: Result[]): void;
  reject(error: unknown): void;
}

export function createGroupCommit<Item, Result>(
  options: GroupCommitOptions<Item, Result>,
): GroupCommit<Item, Result> {
  const waiting: Unit<Item, Result>[] = [];
  let inFlight = 0;

  /** The units waiting longest, as many as fit one statement (always at least one). */
  const nextGroup = () => {
    const group = [waiting.shift()!];
    let items = group[0]!.items.length;
    let weight = group[0]!.weight;
    while (waiting.length > 0) {
      const next = waiting[0]!;
      if (items + next.items.length > options.maxItems) break;
      if (weight + next.weight > options.maxWeight) break;
      group.push(waiting.shift()!);
      items += next.items.length;
      weight += next.weight;
    }
    return group;
  };

  const storeUnit = async (unit: Unit<Item, Result>) => {
    try {
      unit.resolve(await options.store(unit.items));
    } catch (error) {
      unit.reject(error);
    }
  };

  const storeGroup = async (group: Unit<Item, Result>[]) => {
    if (group.length === 1) return storeUnit(group[0]!);
    let results: Result[];
    try {
      results = await options.store(group.flatMap((unit) => unit.items));
    } catch {
      // One unit's failure must not fail the others: each is tried again alone, so only the
      // unit at fault (if any) gets the error. Nothing of the failed statement was stored.
      await Promise.all(group.map(storeUnit));
      return;
    }
    let offset = 0;
    for (const unit of group) {
      unit.resolve(results.slice(offset, (offset += unit.items.length)));
    }
  };

  const pump = () => {
    while (inFlight < options.concurrency && waiting.length > 0) {
      inFlight++;
      void storeGroup(nextGroup()).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  return {
    submit(items) {
      if (items.length === 0) return Promise.resolve([]);
      return new Promise<Result[]>((resolve, reject) => {
        const weight = items.reduce((total, item) => total + options.weight(item), 0);
        waiting.push({ items, weight, resolve, reject });
        pump();
      });
    },
  };
}
