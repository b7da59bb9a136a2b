import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../services.js';

export type Check = () => Promise<void>;

/** Something the service depends on, with a check that resolves while it answers. */
export interface Dependency {
  check: Check;
  /**
   * The service still serves without it, degraded: for Redis, sends are stored and subscribers
   * are served from the log, only live events between instances wait for it.
   */
  optional: boolean;
}

export function dependencies({ database, bus }: Pick<Services, 'database' | 'bus'>) {
  const all: Record<string, Dependency> = {
    database: {
      check: async () => {
        await database.$queryRaw`SELECT 1`;
      },
      optional: false,
    },
  };
  if (bus.ping) all.redis = { check: () => bus.ping!(), optional: true };
  return all;
}

export type Readiness = 'ok' | 'degraded' | 'unavailable';

/**
 * `/healthz`: the process answers. `/readyz`: 503 while a dependency it cannot serve without
 * fails, so a load balancer sends no traffic to an instance that cannot serve it; 200 otherwise,
 * with status `degraded` while an optional one (Redis) fails, since pulling every instance for
 * that would stop what still works. Returns false for any other path.
 */
export function createHealthHandler(all: Record<string, Dependency>) {
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    const path = request.url?.split('?')[0];
    if (path === '/healthz') {
      reply(response, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      void readiness(all).then(({ status, checks }) =>
        reply(response, status === 'unavailable' ? 503 : 200, { status, checks }),
      );
      return true;
    }
    return false;
  };
}

export async function readiness(all: Record<string, Dependency>) {
  const entries = await Promise.all(
    Object.entries(all).map(async ([name, { check, optional }]) => {
      try {
        await withTimeout(check(), 2000);
        return { name, optional, state: 'ok' };
      } catch (error) {
        return { name, optional, state: `failed: ${(error as Error).message}` };
      }
    }),
  );
  const failed = entries.filter(({ state }) => state !== 'ok');
  const status: Readiness =
    failed.length === 0
      ? 'ok'
      : failed.every(({ optional }) => optional)
        ? 'degraded'
        : 'unavailable';
  return { status, checks: Object.fromEntries(entries.map(({ name, state }) => [name, state])) };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function reply(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
