import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { query } from './pg-query.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** A PostgreSQL server of the test's own: `stop`/`start` really stop and start its process. */
export interface PostgresServer {
  url(database?: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A primary and a hot standby streaming from it, each on a free port in a temporary folder. */
export interface StreamingPair {
  primary: PostgresServer;
  standby: PostgresServer;
  /** Stops both servers and removes their folders; safe after a failed start. */
  remove(): Promise<void>;
}

async function binaries(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** PostgreSQL refuses to run as root: its tools run as the system's `postgres` user then. */
async function asPostgres(file: string, args: string[]) {
  const root = process.getuid?.() === 0;
  await run(root ? 'runuser' : file, root ? ['-u', 'postgres', '--', file, ...args] : args, {
    timeout: 30_000,
  });
}

function server(bin: string, dataDir: string, port: number, settings: string[]): PostgresServer {
  const options = [`-p ${port}`, `-k ${dataDir}`, `-c listen_addresses=127.0.0.1`, ...settings];
  return {
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    start: () =>
      asPostgres(`${bin}/pg_ctl`, [
        'start',
        '-w',
        '-D',
        dataDir,
        '-l',
        `${dataDir}/log`,
        '-o',
        options.join(' '),
      ]),
    stop: () => asPostgres(`${bin}/pg_ctl`, ['stop', '-w', '-m', 'fast', '-D', dataDir]),
  };
}

/** `standbySettings`: server settings for the standby (e.g. max_standby_streaming_delay). */
export async function startStreamingPair(
  options: { standbySettings?: Record<string, string> } = {},
): Promise<StreamingPair> {
  const bin = await binaries();
  const root = await mkdtemp(path.join(os.tmpdir(), 'replica-'));
  const started: PostgresServer[] = [];
  const remove = async () => {
    for (const one of started.reverse()) await one.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: group } = await run('id', ['-g', 'postgres']);
      await chown(root, Number(stdout), Number(group));
    }
    const primaryDir = path.join(root, 'primary');
    const standbyDir = path.join(root, 'standby');
    await asPostgres(`${bin}/initdb`, ['-D', primaryDir, '-U', 'postgres', '-A', 'trust']);
    const primary = server(bin, primaryDir, await freePort(), [
      '-c wal_level=replica',
      '-c max_wal_senders=4',
      '-c fsync=off',
    ]);
    await primary.start();
    started.push(primary);
    const { port } = new URL(primary.url());
    // -R writes the standby's primary_conninfo and standby.signal: it starts as a hot standby.
    await asPostgres(`${bin}/pg_basebackup`, [
      ...['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream'],
    ]);
    const standby = server(bin, standbyDir, await freePort(), [
      '-c hot_standby=on',
      '-c fsync=off',
      ...Object.entries(options.standbySettings ?? {}).map(
        ([name, value]) => `-c ${name}=${value}`,
      ),
    ]);
    await standby.start();
    started.push(standby);
    return { primary, standby, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Waits until the standby has replayed everything the primary had written when it was called. */
export async function caughtUp(pair: StreamingPair, timeoutMs = 10_000): Promise<void> {
  const [primary] = await query<{ lsn: string }>(
    pair.primary.url(),
    'SELECT pg_current_wal_lsn()::text AS lsn',
  );
  const lsn = primary!.lsn;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [standby] = await query<{ passed: boolean }>(
      pair.standby.url(),
      'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS passed',
      [lsn],
    );
    if (standby?.passed) return;
    if (Date.now() > deadline) throw new Error(`standby did not replay ${lsn} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
