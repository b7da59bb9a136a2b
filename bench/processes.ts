import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';

export { freePort };

// Child processes of the benchmark: the service as a user starts it, the baseline server, and
// the load generator. Each is a separate Node process, so they are measured separately.

const root = fileURLToPath(new URL('..', import.meta.url));

/** Resident memory of a process, in bytes, from /proc. */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** `node src/main.ts` with the given environment; resolves when it logs that it listens. */
export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of each service process there.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), ...env },
    // Its log (warnings and errors only) goes to the benchmark's stderr.
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('service did not start in 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
    const poll = setInterval(() => {
      fetch(`http://127.0.0.1:${port}/readyz`)
        .then((response) => {
          if (!response.ok) return;
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        })
        .catch(() => {});
    }, 100);
  });
  let logged = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    if (logged++ < 5) process.stderr.write(`[service] ${chunk.toString().slice(0, 500)}`);
  });
  return { child, url: `http://127.0.0.1:${port}/graphql`, stop: () => stopChild(child) };
}

export async function startBaseline(): Promise<{
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}> {
  const child = fork(`${root}/bench/baseline-server.ts`, { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (message: { port: number }) => resolve(message.port)),
  );
  return { child, port, stop: () => stopChild(child) };
}

/** The load generator: `call(command, args)` runs one of bench/load.ts's commands. */
export async function startLoad() {
  const child = fork(`${root}/bench/load.ts`, { execArgv: ['--import', 'tsx'] });
  await new Promise((resolve) => child.once('message', resolve));
  let nextId = 0;
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  return {
    child,
    call<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
      const id = nextId++;
      child.send({ id, command, args });
      return new Promise<T>((resolve, reject) =>
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject }),
      );
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
