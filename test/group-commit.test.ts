import { describe, expect, it } from 'vitest';
import { createGroupCommit } from '../src/db/group-commit.js';

// The group commit on its own: what callers submit while a statement runs goes into the next
// one together, each caller gets its own results, and a unit that fails a group fails alone.

function recorder(fail: (items: number[]) => boolean = () => false) {
  const statements: number[][] = [];
  const group = createGroupCommit<number, string>({
    store: async (items) => {
      statements.push(items);
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (fail(items)) throw new Error(`refused ${items.join(',')}`);
      return items.map((item) => `stored ${item}`);
    },
    maxItems: 5,
    weight: (item) => item,
    maxWeight: 100,
    concurrency: 1,
  });
  return { statements, group };
}

describe('group commit', () => {
  it('stores what arrives during a statement together in the next, answering each its own', async () => {
    const { statements, group } = recorder();
    const answers = await Promise.all([1, 2, 3, 4].map((item) => group.submit([item])));
    expect(answers).toEqual([['stored 1'], ['stored 2'], ['stored 3'], ['stored 4']]);
    expect(statements).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps a unit whole and within maxItems and maxWeight, a larger unit alone', async () => {
    const { statements, group } = recorder();
    await Promise.all([
      group.submit([1]),
      group.submit([2, 3]),
      group.submit([4, 5, 6]),
      group.submit([7]),
      group.submit([8, 9, 10, 11, 12, 13]),
      group.submit([90]),
      group.submit([20]),
    ]);
    expect(statements).toEqual([[1], [2, 3, 4, 5, 6], [7], [8, 9, 10, 11, 12, 13], [90], [20]]);
  });

  it('tries each unit of a failed group alone, so only the one at fault fails', async () => {
    const { statements, group } = recorder((items) => items.includes(13));
    const answers = await Promise.allSettled(
      [0, 11, 12, 13, 14].map((item) => group.submit([item])),
    );
    expect(answers.map((answer) => answer.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(statements).toEqual([[0], [11, 12, 13, 14], [11], [12], [13], [14]]);
  });
});
