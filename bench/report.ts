// The benchmark's figures: one object per metric with a stable id, the service's value beside
// the references measured in the same run (bare `ws` baseline, plain graphql-yoga peer,
// database limit), the ratios to each, and for figures taken in rounds the median and spread.

type Reference = 'baseline' | 'peer' | 'limit';
type Figure = 'value' | Reference;

export interface Metric {
  id: string;
  name: string;
  unit: string;
  value: number;
  baseline?: number;
  peer?: number;
  limit?: number;
  /** value ÷ each reference measured. */
  ratios?: Partial<Record<Reference, number>>;
  /** Rounds each figure is the median of, and their [min, max]. */
  rounds?: number;
  spread?: Partial<Record<Figure, [number, number]>>;
  goal: string;
  note?: string;
  /** How a load split, by part (a Redis node, a PostgreSQL server): its counters' growth. */
  parts?: Parts;
}

export type Parts = Record<string, Record<string, number>>;

/** A figure: one measurement, or several rounds (summarised as their median and spread). */
export type Measurement = number | number[];

export interface MetricInput {
  id: string;
  name: string;
  unit: string;
  goal: string;
  note?: string;
  value: Measurement;
  baseline?: Measurement;
  peer?: Measurement;
  limit?: Measurement;
  parts?: Parts;
  /** Decimal places of the figures (ratios always have two). */
  digits?: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const median = (values: number[]) => percentile(values, 50);
const round = (value: number, digits: number) => Number(value.toFixed(digits));

export function toMetric({
  id,
  name,
  unit,
  value,
  baseline,
  peer,
  limit,
  goal,
  note,
  parts,
  digits = 1,
}: MetricInput): Metric {
  const metric: Omit<Metric, 'goal'> = { id, name, unit, value: 0 };
  const spread: Metric['spread'] = {};
  let rounds = 1;
  const figures = { value, baseline, peer, limit };
  for (const [figure, measurement] of Object.entries(figures) as [Figure, Measurement?][]) {
    if (measurement === undefined) continue;
    const values = typeof measurement === 'number' ? [measurement] : measurement;
    metric[figure] = round(median(values), digits);
    if (values.length === 1) continue;
    rounds = Math.max(rounds, values.length);
    spread[figure] = [round(Math.min(...values), digits), round(Math.max(...values), digits)];
  }
  const ratios: Metric['ratios'] = {};
  for (const reference of ['baseline', 'peer', 'limit'] as const) {
    const against = metric[reference];
    if (against) ratios[reference] = round(metric.value / against, 2);
  }
  return {
    ...metric,
    ...(Object.keys(ratios).length > 0 && { ratios }),
    ...(rounds > 1 && { rounds, spread }),
    goal,
    ...(note !== undefined && { note }),
    ...(parts !== undefined && { parts }),
  };
}

/** `part: counter value, ...; part: ...` */
function describeParts(parts: Parts) {
  return Object.entries(parts)
    .map(
      ([part, counters]) =>
        `${part}: ${Object.entries(counters)
          .map(([counter, value]) => `${counter} ${value}`)
          .join(', ')}`,
    )
    .join('; ');
}

function cell(metric: Metric, figure: Figure) {
  const value = metric[figure];
  if (value === undefined) return '';
  const spread = metric.spread?.[figure];
  return `${value} ${metric.unit}${spread ? ` (${spread[0]}–${spread[1]})` : ''}`;
}

export function formatResults(run: {
  metrics: Metric[];
  machine: string;
  quick: boolean;
  seconds: number;
}) {
  const rows = run.metrics.map((m) => {
    const ratios = Object.entries(m.ratios ?? {})
      .map(([reference, ratio]) => `${ratio}× ${reference}`)
      .join(', ');
    const notes = [m.note, m.parts && describeParts(m.parts)].filter(Boolean).join('. ');
    return `| ${m.name} | \`${m.id}\` | ${cell(m, 'value')} | ${cell(m, 'baseline')} | ${cell(m, 'peer')} | ${cell(m, 'limit')} | ${ratios} | ${m.goal} | ${notes} |`;
  });
  return `# Benchmark results

${run.quick ? 'A `--quick` run (smaller sizes).' : 'A full run.'} ${new Date().toISOString().slice(0, 10)}, ${run.machine}; ${Math.round(run.seconds)} s.
Separate processes on this one machine, all in the same run: the service; the baseline (a bare
\`ws\` server writing one prebuilt frame to every socket; for the \`scaleout_\` figures, one
instance on one Redis, no replica; for the \`partitioned_\` figures, today's unpartitioned
tables); the peer (a plain graphql-yoga +
graphql-ws server, no database, in-memory pub/sub, each event executed per subscriber); the
database limit (the service's own send statements through \`pg\` on several connections, no HTTP
or GraphQL); and the load generator (real graphql-ws clients), which shares the cores, so its
cost is in every figure. Figures taken in rounds are the median, with the spread (min–max).
Memory per connection is the growth with that many idle subscribed connections, as RSS and as
heap after a forced GC.

| metric | id | measured | baseline | peer | limit | ratios | goal | notes |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}
