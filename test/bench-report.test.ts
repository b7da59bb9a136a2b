import { describe, expect, it } from 'vitest';
import { formatResults, toMetric } from '../bench/report.js';

// The bench's JSON line is read by machines (by metric id) and by people (RESULTS.md): its shape
// is what the lead and the issue rely on run after run.

describe('bench metrics', () => {
  it('gives rounds as their median and spread, and the ratio to every reference measured', () => {
    const metric = toMetric({
      id: 'fanout_10k',
      name: 'fan-out',
      unit: 'ms',
      value: [900, 600, 700],
      baseline: [200, 100, 150],
      peer: 400,
      goal: '≤ 2× bare ws',
    });
    expect(metric).toEqual({
      id: 'fanout_10k',
      name: 'fan-out',
      unit: 'ms',
      value: 700,
      baseline: 150,
      peer: 400,
      ratios: { baseline: 4.67, peer: 1.75 },
      rounds: 3,
      spread: { value: [600, 900], baseline: [100, 200] },
      goal: '≤ 2× bare ws',
    });
    expect(Object.keys(metric)).toEqual([
      'id',
      'name',
      'unit',
      'value',
      'baseline',
      'peer',
      'ratios',
      'rounds',
      'spread',
      'goal',
    ]);
  });

  it('gives a single measurement without rounds, spread or ratios, at the digits asked', () => {
    expect(
      toMetric({
        id: 'redis_added_p50',
        name: 'r',
        unit: 'ms',
        value: 1.2345,
        digits: 2,
        goal: '',
      }),
    ).toEqual({ id: 'redis_added_p50', name: 'r', unit: 'ms', value: 1.23, goal: '' });
  });

  it('writes each figure with its spread and the ratios into the results table', () => {
    const metric = toMetric({
      id: 'sends_per_second',
      name: 'sends',
      unit: 'sends/s',
      value: [400, 450, 500],
      limit: [900, 1000, 1100],
      digits: 0,
      goal: '≥ 70% of the limit',
    });
    const table = formatResults({ metrics: [metric], machine: 'm', quick: false, seconds: 1 });
    expect(table).toContain(
      '| sends | `sends_per_second` | 450 sends/s (400–500) |  |  | 1000 sends/s (900–1100) | 0.45× limit | ≥ 70% of the limit |  |',
    );
  });

  it('keeps the parts a load split into, by part, and writes them after the notes', () => {
    const parts = {
      primary: { xact_commit: 120, tup_returned: 5000 },
      replica: { xact_commit: 80, tup_returned: 9000 },
    };
    const metric = toMetric({
      id: 'scaleout_pg_split',
      name: 'split',
      unit: '%',
      value: 97.44,
      goal: '',
      note: 'n',
      parts,
    });
    expect(metric).toEqual({
      id: 'scaleout_pg_split',
      name: 'split',
      unit: '%',
      value: 97.4,
      goal: '',
      note: 'n',
      parts,
    });
    const table = formatResults({ metrics: [metric], machine: 'm', quick: false, seconds: 1 });
    expect(table).toContain(
      '| n. primary: xact_commit 120, tup_returned 5000; replica: xact_commit 80, tup_returned 9000 |',
    );
  });
});
