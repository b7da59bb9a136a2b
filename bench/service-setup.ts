import { randomBytes } from 'node:crypto';
import { freePort, type ServiceProcess } from './processes.js';

// The service as every part of the bench starts and uses it: one secret for the load's user
// tokens, one API key for its sends, limits that would measure themselves lifted, and the
// category the load sends in.

export const SECRET = randomBytes(32).toString('hex');
export const API_KEY = `bench-${randomBytes(12).toString('hex')}`;

/** The user ids the load connects as: `<prefix>0` … `<prefix><count - 1>`. */
export const users = (count: number, prefix = 'u') =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

export async function serviceEnv(databaseUrl: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: databaseUrl,
    JWT_SECRET: SECRET,
    SERVICE_API_KEYS: API_KEY,
    MAX_CONNECTIONS_PER_USER: '1000',
    // One address, one API key and one user per socket at full speed: rate limits would measure
    // themselves, not the service.
    RATE_LIMIT_CONNECTIONS_PER_IP: '0',
    RATE_LIMIT_CONNECTIONS_PER_USER: '0',
    RATE_LIMIT_MUTATIONS_PER_API_KEY: '0',
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    ...extra,
  };
}

export async function createBenchCategory(service: ServiceProcess) {
  const { mintUserToken } = await import('../src/auth/user-tokens.js');
  const token = await mintUserToken(SECRET, 'bench-admin', { admin: true });
  await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'mutation { upsertCategory(input: { name: "bench" }) { name } }',
    }),
  });
}
