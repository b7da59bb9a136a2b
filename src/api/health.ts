import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../services.js';

export type Check = () => Promise<void>;

/** What the service depends on, each with a check that resolves while it answers. */
export function dependencyChecks({ database, bus }: Pick<Services, 'database' | 'bus'>) {
  const checks: Record<string, Check> = {
    database: async () => {
      await database.$queryRaw`SELECT 1`;
    },
  };
  if (bus.ping) checks.redis = () => bus.ping!();
  return checks;
}

/**
 * `/healthz`: the process answers. `/readyz`: its dependencies answer too, so a load balancer
 * sends no traffic to an instance that cannot serve it. Returns false for any other path.
 */
export function createHealthHandler(checks: Record<string, Check>) {
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    const path = request.url?.split('?')[0];
    if (path === '/healthz') {
      reply(response, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      void readiness(checks).then(({ ready, report }) =>
        reply(response, ready ? 200 : 503, {
          status: ready ? 'ok' : 'unavailable',
          checks: report,
        }),
      );
      return true;
    }
    return false;
  };
}

async function readiness(checks: Record<string, Check>) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), 2000);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, `failed: ${(error as Error).message}`] as const;
      }
    }),
  );
  return {
    ready: entries.every(([, state]) => state === 'ok'),
    report: Object.fromEntries(entries),
  };
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
