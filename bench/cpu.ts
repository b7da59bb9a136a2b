import { readdirSync, readFileSync } from 'node:fs';

// Where a phase's CPU went, per operation: the service's processes, PostgreSQL's (every postgres
// process on the machine, and those that ended since, counted in their parent) and the load
// generator's. Read from /proc, so only on Linux; elsewhere the figures are left out.

/** USER_HZ: the unit of /proc/<pid>/stat's times on Linux. */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  service: number;
  postgres: number;
  load: number;
}

/** utime, stime, cutime and cstime of a process, in seconds; undefined once it is gone. */
function cpuOfPid(pid: number): { comm: string; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields from the third (state) on: utime, stime, cutime, cstime are the 14th to 17th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
    return { comm, seconds: ticks / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

function postgresSeconds(): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cpu = cpuOfPid(Number(entry));
    if (cpu?.comm === 'postgres') seconds += cpu.seconds;
  }
  return seconds;
}

/** CPU seconds used so far by `services`, PostgreSQL and `load`; undefined off Linux. */
export function cpuSample(
  services: { pid?: number }[],
  load: { pid?: number },
): CpuSample | undefined {
  if (process.platform !== 'linux') return undefined;
  const of = (pid?: number) => (pid === undefined ? 0 : (cpuOfPid(pid)?.seconds ?? 0));
  return {
    service: services.reduce((sum, child) => sum + of(child.pid), 0),
    postgres: postgresSeconds(),
    load: of(load.pid),
  };
}

export const zeroCpu = (): CpuSample => ({ service: 0, postgres: 0, load: 0 });

/** `total` plus what was used from `before` to `after`; undefined once a sample is missing. */
export function addCpu(
  total: CpuSample | undefined,
  before: CpuSample | undefined,
  after: CpuSample | undefined,
): CpuSample | undefined {
  if (!total || !before || !after) return undefined;
  const used = (part: keyof CpuSample) => total[part] + after[part] - before[part];
  return { service: used('service'), postgres: used('postgres'), load: used('load') };
}

/** "CPU per send: service 0.92 ms, PostgreSQL 0.61 ms, load 0.30 ms". */
export function cpuPer(
  operation: string,
  count: number,
  used: CpuSample | undefined,
): string | undefined {
  if (!used || count === 0) return undefined;
  const ms = (part: keyof CpuSample) => ((used[part] * 1000) / count).toFixed(2);
  return `CPU per ${operation}: service ${ms('service')} ms, PostgreSQL ${ms('postgres')} ms, load ${ms('load')} ms`;
}
