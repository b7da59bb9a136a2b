export interface Metric {
  name: string;
  unit: string;
  value: number;
  goal: string;
  baseline?: number;
  ratio?: number;
  note?: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function formatResults(run: {
  metrics: Metric[];
  machine: string;
  quick: boolean;
  seconds: number;
}) {
  const rows = run.metrics.map(
    (m) =>
      `| ${m.name} | ${m.value} ${m.unit} | ${m.baseline !== undefined ? `${m.baseline} ${m.unit}` : ''} | ${m.ratio !== undefined ? `${m.ratio}×` : ''} | ${m.goal} | ${m.note ?? ''} |`,
  );
  return `# Benchmark results

${run.quick ? 'A `--quick` run (smaller sizes).' : 'A full run.'} ${new Date().toISOString().slice(0, 10)}, ${run.machine}; ${Math.round(run.seconds)} s.
The service, the baseline (a bare \`ws\` server writing one prebuilt frame to every socket) and the
load generator (real graphql-ws clients) are separate processes on this one machine: the load
generator shares its cores, and its cost is in every figure.

| metric | measured | baseline | ratio | goal | notes |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}
