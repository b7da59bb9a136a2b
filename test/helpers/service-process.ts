import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { mintUserToken } from '../../src/auth/user-tokens.js';
import { connectUser as connectUserWith } from './connect-user.js';
import { freePort } from './ports.js';
import { Child, TSX, serviceEnv } from './process.js';
import { TEST_API_KEY, TEST_JWT_SECRET } from './server.js';

/**
 * The service as a real process, started the way a user runs it (`tsx src/main.ts`) with only
 * the variables a test sets, listening on loopback. An uncaught error ends it, so a test can
 * tell "failed a request" from "crashed"; SIGKILL ends it without any chance to clean up.
 */
export interface ServiceProcess {
  child: Child;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  wsUrl: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Whether the process (tsx and the node it runs) is still running. */
  alive(): boolean;
  /** Resident memory of the node process that serves, in bytes (from /proc). */
  rssBytes(): Promise<number>;
  /** CPU time (user + system) the node process that serves has used, in milliseconds. */
  cpuMs(): Promise<number>;
  /** SIGKILL to the whole process group: no drain, no cleanup, as when a machine dies. */
  kill(): void;
  /** SIGTERM, then SIGKILL after `timeoutMs`; removes its data folder. */
  stop(timeoutMs?: number): Promise<void>;
}

/** USER_HZ: what /proc counts CPU time in, 100 on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

export async function startServiceProcess(
  env: Record<string, string>,
  { startTimeoutMs = 60_000 } = {},
): Promise<ServiceProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'service-process-'));
  const port = env.PORT ?? String(await freePort());
  const child = new Child(
    TSX,
    ['src/main.ts'],
    serviceEnv({
      HOST: '127.0.0.1',
      PORT: port,
      DATA_DIR: dataDir,
      JWT_SECRET: TEST_JWT_SECRET,
      SERVICE_API_KEYS: TEST_API_KEY,
      LOG_LEVEL: 'info',
      ...env,
    }),
  );
  let exited = false;
  void child.exited.then(() => (exited = true));
  const origin = `http://127.0.0.1:${port}`;
  // tsx runs the service in a node child of its own: that one is measured.
  const serverPid = async () => {
    const pid = child.pid;
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return children.trim().split(/\s+/)[0] || String(pid);
  };
  // Up when /healthz answers, whatever LOG_LEVEL hides.
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const up = await fetch(`${origin}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (exited || Date.now() > deadline) {
      child.kill();
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(
        `${exited ? 'exited' : `not up in ${startTimeoutMs} ms`}\nstdout:\n${child.stdout}\nstderr:\n${child.stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = `${origin}/graphql`;
  return {
    child,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    origin,
    alive: () => !exited,
    rssBytes: async () => {
      const status = await readFile(`/proc/${await serverPid()}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
      if (!kb) throw new Error('no VmRSS for the service process');
      return Number(kb) * 1024;
    },
    cpuMs: async () => {
      // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name.
      const stat = await readFile(`/proc/${await serverPid()}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
    },
    kill: () => child.kill(),
    async stop(timeoutMs = 15_000) {
      if (!exited) {
        child.signal('SIGTERM');
        await child.waitForExit(timeoutMs).catch(() => child.kill());
      }
      child.kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const userToken = (userId: string, options?: { admin?: boolean }) =>
  mintUserToken(TEST_JWT_SECRET, userId, options);

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A POST to a service's /graphql with `headers`; throws only when the request itself fails. */
export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<HttpResult<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const text = await response.text();
  let body: Omit<HttpResult<T>, 'status' | 'headers'> = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, headers: response.headers, ...body };
}

export const asService = { 'x-api-key': TEST_API_KEY };
export const asUser = async (userId: string, options?: { admin?: boolean }) => ({
  authorization: `Bearer ${await userToken(userId, options)}`,
});

/** A graphql-ws client of `userId` to `wsUrl` that does not retry; resolves once acknowledged. */
export const connectUser = (
  wsUrl: string,
  userId: string,
  onClose?: (event: { code: number; reason: string }) => void,
): Promise<Client> => connectUserWith(wsUrl, userId, { secret: TEST_JWT_SECRET, onClose });
