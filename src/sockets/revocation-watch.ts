import { revokedKeyIds } from '../auth/api-keys.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';

// Sockets opened with a stored API key are closed when the key is revoked, on every instance:
// each instance re-reads, every few seconds, which of the keys its open sockets use are revoked.
// One query per check, bounded by the distinct keys open here (services hold few).

export interface RevocationWatch {
  /** Calls `onRevoked` once `keyId` is found revoked; returns the function that stops watching. */
  watch(keyId: string, onRevoked: () => void): () => void;
  start(): void;
  stop(): void;
}

export function createRevocationWatch(options: {
  database: Database;
  intervalSeconds: number;
  logger: Logger;
}): RevocationWatch {
  const watchers = new Map<string, Set<() => void>>();
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    const revoked = await revokedKeyIds(options.database, [...watchers.keys()]);
    for (const keyId of revoked) {
      for (const onRevoked of watchers.get(keyId) ?? []) onRevoked();
      watchers.delete(keyId);
    }
  };

  return {
    watch(keyId, onRevoked) {
      const forKey = watchers.get(keyId) ?? new Set();
      watchers.set(keyId, forKey.add(onRevoked));
      return () => {
        forKey.delete(onRevoked);
        if (forKey.size === 0 && watchers.get(keyId) === forKey) watchers.delete(keyId);
      };
    },
    start() {
      timer = setInterval(() => {
        check().catch((error: unknown) =>
          options.logger.warn({ err: error }, 'API key revocation check failed'),
        );
      }, options.intervalSeconds * 1000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
