import type { IncomingMessage, ServerResponse } from 'node:http';
import { readiness, type Dependency } from '../observability/readiness.js';
import type { Services } from '../services.js';

export function dependencies({
  database,
  bus,
  replica,
}: Pick<Services, 'database' | 'bus' | 'replica'>) {
  const all: Record<string, Dependency> = {
    database: {
      check: async () => {
        await database.$queryRaw`SELECT 1`;
      },
      optional: false,
    },
  };
  if (bus.ping) all.redis = { check: () => bus.ping!(), optional: true };
  // Without the replica, its reads go to the primary.
  if (replica) all.replica = { check: () => replica.check(), optional: true };
  return all;
}

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

function reply(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
