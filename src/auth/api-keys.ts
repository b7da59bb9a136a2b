import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/client.js';
import { AuthenticationError, type Viewer } from './viewer.js';

// Service API keys: some come from SERVICE_API_KEYS, the rest are stored in the database as
// SHA-256 hashes (a key is random and long, so a slow hash adds nothing) and shown once.

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateApiKey(): string {
  return `nsk_${randomBytes(24).toString('base64url')}`;
}

export type ApiKeyVerifier = (key: string) => Promise<Extract<Viewer, { kind: 'service' }>>;

export function createApiKeyVerifier(database: Database, configuredKeys: string[]): ApiKeyVerifier {
  const configured = configuredKeys.map((key, index) => ({
    hash: Buffer.from(hashKey(key)),
    service: `env-key-${index + 1}`,
  }));
  return async (key) => {
    const hash = hashKey(key);
    const fromEnvironment = configured.find((entry) =>
      timingSafeEqual(entry.hash, Buffer.from(hash)),
    );
    if (fromEnvironment) return { kind: 'service', service: fromEnvironment.service };
    const stored = await database.apiKey.findUnique({ where: { hash } });
    if (!stored || stored.revokedAt) throw new AuthenticationError('API key invalid or revoked');
    return { kind: 'service', service: stored.name, keyId: stored.id };
  };
}

/** Which of `keyIds` have been revoked: for re-checking the keys open sockets were opened with. */
export async function revokedKeyIds(database: Database, keyIds: string[]): Promise<string[]> {
  if (keyIds.length === 0) return [];
  const revoked = await database.apiKey.findMany({
    where: { id: { in: keyIds }, revokedAt: { not: null } },
    select: { id: true },
  });
  return revoked.map(({ id }) => id);
}

/** Creates a named key and returns it; only its hash is kept. */
export async function createApiKey(database: Database, name: string): Promise<string> {
  const key = generateApiKey();
  await database.apiKey.create({ data: { name, hash: hashKey(key) } });
  return key;
}

/** Revokes a named key; returns false when no active key has that name. */
export async function revokeApiKey(database: Database, name: string): Promise<boolean> {
  const { count } = await database.apiKey.updateMany({
    where: { name, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count > 0;
}
