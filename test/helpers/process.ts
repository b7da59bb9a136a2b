import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: commands run from here, as a user would run them. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The tsx that `npx tsx` resolves to; run directly because npx does not pass SIGTERM on. */
export const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

// What a shell passes to any program; nothing of this process's own configuration (Vitest sets
// NODE_ENV=test, a developer's shell may set DATABASE_URL), so a child sees only what a test sets.
const SHELL_VARIABLES = ['PATH', 'HOME', 'USER', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'];

/** A clean shell's environment plus `overrides`. */
export function serviceEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of SHELL_VARIABLES) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return { ...env, ...overrides };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A child process in its own process group, its output collected. `kill()` ends the group, so
 * whatever the child started (tsx's node, an embedded PostgreSQL) goes too.
 */
export class Child {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private exit?: Exit;
  private readonly listeners = new Set<() => void>();

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) {
    this.child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.stderr += String(error);
        this.finish({ code: null, signal: null }, resolve);
      });
      this.child.once('close', (code, signal) => this.finish({ code, signal }, resolve));
    });
  }

  private finish(status: Pick<Exit, 'code' | 'signal'>, resolve: (exit: Exit) => void): void {
    this.exit ??= { ...status, stdout: this.stdout, stderr: this.stderr };
    this.notify();
    resolve(this.exit);
  }

  /** The child's pid, which is also its process group's id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private notify() {
    for (const listener of this.listeners) listener();
  }

  /** Stdout split into lines, JSON log lines parsed; other lines are skipped. */
  logLines(): Record<string, unknown>[] {
    return this.stdout.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first match of `pattern` in stdout; fails if the child exits first. */
  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.stdout);
        if (match) return done(() => resolve(match));
        if (this.exit) {
          done(() =>
            reject(
              new Error(
                `exited (${this.exit!.code ?? this.exit!.signal}) before printing ${pattern}\n` +
                  `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `no ${pattern} in ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
              ),
            ),
          ),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the first JSON log line whose `msg` is `message`, parsed. */
  async waitForLog(message: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const quoted = JSON.stringify(message).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const [line] = await this.waitForOutput(new RegExp(`^\\{.*"msg":${quoted}.*$`, 'm'), timeoutMs);
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Sends `signal` to the child alone, as a process manager would. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit, or fails after `timeoutMs` (the child is left running). */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `still running after ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Kills the child's whole process group; does nothing once the group is gone. */
  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Runs a command to its end; kills it (and what it started) after `timeoutMs`. */
export async function run(
  command: string,
  args: string[],
  { env, timeoutMs = 30_000, cwd }: { env: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string },
): Promise<Exit> {
  const child = new Child(command, args, env, cwd);
  const timer = setTimeout(() => child.kill(), timeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
    child.kill();
  }
}
