import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import type { MemorySample } from './memory-probe.js';

export { freePort };
export type { MemorySample };

// Child processes of the benchmark: the service as a user starts it, the baseline server, the
// peer server, the database limit and the load generator. Each is a separate Node process, so
// they are measured separately.

const root = fileURLToPath(new URL('..', import.meta.url));

/** Node flags of a process whose memory is measured: see bench/memory-probe.ts. */
const measured = ['--expose-gc', '--import', 'tsx', '--import', `${root}/bench/memory-probe.ts`];

/** Heap after a forced GC, and RSS, of a process started with `measured` flags. */
export function memoryOf(child: ChildProcess): Promise<MemorySample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory sample in 30 s')), 30_000);
    const listen = (message: { type?: string; sample?: MemorySample }) => {
      if (message?.type !== 'bench:memory') return;
      clearTimeout(timer);
      child.off('message', listen);
      resolve(message.sample!);
    };
    child.on('message', listen);
    child.send({ type: 'bench:memory' });
  });
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
  const child = spawn(process.execPath, [...profile, ...measured, 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), ...env },
    // Its log (warnings and errors only) goes to the benchmark's stderr; the IPC channel is
    // the memory probe's.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
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

export interface ReferenceServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** The bare `ws` baseline (bench/baseline-server.ts). */
export const startBaseline = () => startReference('baseline-server.ts', {});

/** The plain graphql-yoga + graphql-ws peer (bench/peer-server.ts). */
export const startPeer = (secret: string, apiKey: string) =>
  startReference('peer-server.ts', { BENCH_SECRET: secret, BENCH_API_KEY: apiKey });

async function startReference(file: string, env: Record<string, string>): Promise<ReferenceServer> {
  const child = fork(`${root}/bench/${file}`, {
    execArgv: measured,
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    const listen = (message: { port?: number }) => {
      if (message?.port === undefined) return;
      child.off('message', listen);
      resolve(message.port);
    };
    child.on('message', listen);
  });
  return { child, port, stop: () => stopChild(child) };
}

/** Sends/s of each round of bench/database-limit.ts, run in its own process. */
export async function measureDatabaseLimit(args: {
  databaseUrl: string;
  connections: number;
  seconds: number;
  rounds: number;
  users: number;
}): Promise<number[]> {
  const child = fork(`${root}/bench/database-limit.ts`, { execArgv: ['--import', 'tsx'] });
  try {
    return await new Promise<number[]>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`database limit exited with ${code}`)));
      child.on('message', (message: { ready?: boolean; perRound?: number[]; error?: string }) => {
        if (message.ready) child.send(args);
        else if (message.error) reject(new Error(message.error));
        else if (message.perRound) resolve(message.perRound);
      });
    });
  } finally {
    await stopChild(child);
  }
}

export type Load = Awaited<ReturnType<typeof startLoad>>;

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
  // A child killed by a signal keeps exitCode null: it has ended all the same.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
