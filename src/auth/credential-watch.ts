import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { revokedKeyIds } from './api-keys.js';
import { AuthenticationError, type Viewer } from './viewer.js';

// A connection (a socket, an SSE subscription) lives only as long as the credentials that opened
// it: a user token until its `exp`, a stored API key until it is revoked, on every instance. The
// one rule for both transports; each ends its connection its own way with the error given.
// Revocations: each instance re-reads, every few seconds, which of the keys its open connections
// use are revoked; one query per check, bounded by the distinct keys open here (services hold few).

export interface CredentialWatch {
  /**
   * Calls `onEnd` once, with why, when `viewer`'s credentials stop being valid; returns the
   * function that stops watching.
   */
  watch(viewer: Viewer, onEnd: (why: AuthenticationError) => void): () => void;
  start(): void;
  stop(): void;
}

/** setTimeout's longest wait; a token may live longer than that. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createCredentialWatch(options: {
  database: Database;
  intervalSeconds: number;
  logger: Logger;
}): CredentialWatch {
  const watchers = new Map<string, Set<() => void>>();
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    const revoked = await revokedKeyIds(options.database, [...watchers.keys()]);
    for (const keyId of revoked) {
      for (const onRevoked of watchers.get(keyId) ?? []) onRevoked();
      watchers.delete(keyId);
    }
  };

  const watchKey = (keyId: string, onRevoked: () => void) => {
    const forKey = watchers.get(keyId) ?? new Set();
    watchers.set(keyId, forKey.add(onRevoked));
    return () => {
      forKey.delete(onRevoked);
      if (forKey.size === 0 && watchers.get(keyId) === forKey) watchers.delete(keyId);
    };
  };

  return {
    watch(viewer, onEnd) {
      if (viewer.kind === 'user' && viewer.expiresAt !== undefined) {
        return at(viewer.expiresAt, () => onEnd(new AuthenticationError('token expired')));
      }
      if (viewer.kind === 'service' && viewer.keyId !== undefined) {
        return watchKey(viewer.keyId, () => onEnd(new AuthenticationError('API key revoked')));
      }
      return () => {};
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

/** Runs `run` at `time` (ms since the epoch), however far away; returns the cancel. */
function at(time: number, run: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = time - Date.now();
    timer = wait > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(run, wait);
  };
  arm();
  return () => clearTimeout(timer);
}
