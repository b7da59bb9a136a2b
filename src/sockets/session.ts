import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { refusalFor } from '../api/errors.js';
import type { RateLimits } from '../api/rate-limits.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { CredentialWatch } from '../auth/credential-watch.js';
import { anonymous, type Viewer } from '../auth/viewer.js';
import type { ConnectionRegistry } from '../connections/connection-registry.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AnonymousSockets } from './anonymous-sockets.js';
import { CLOSE } from './close-codes.js';
import { operationCredentials } from './operation-credentials.js';
import { closeCodeFor } from './refusal.js';

// One socket's life: connect (rate limits, credentials, the connection record and its limit),
// operations that authenticate an anonymous socket, credentials re-checked while it lives, and
// everything it holds released when it closes, whenever that happens.

export interface SessionDependencies {
  authenticate: Authenticator;
  connections: ConnectionRegistry;
  rateLimits: RateLimits;
  anonymousSockets: AnonymousSockets;
  credentials: CredentialWatch;
  anonymousTimeoutMs: number;
  logger: Logger;
}

type Caller = Exclude<Viewer, { kind: 'anonymous' }>;

export class SocketSession {
  /** Who the socket acts as; undefined until connection_init is accepted. */
  viewer: Viewer | undefined;
  /** The one recording of a caller: operations arriving at once share it. */
  private binding: Promise<void> | undefined;
  private connectionId: string | undefined;
  private ended = false;
  /** What to undo when the socket closes or its caller changes from anonymous. */
  private anonymousRelease: (() => void) | undefined;
  private readonly releases: (() => void)[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly address: string,
    private readonly deps: SessionDependencies,
  ) {}

  /** Handles connection_init; false when the socket was closed with the reason why. */
  async connect(params: Record<string, unknown> | undefined): Promise<boolean> {
    const { rateLimits } = this.deps;
    // Counted before authenticating, so refused credentials cost an attacker too.
    const ipWait = await rateLimits.connectionFromIp(this.address);
    if (ipWait !== undefined) return this.refuseAttempt(ipWait);
    try {
      const { authorization, apiKey } = params ?? {};
      const viewer = await this.deps.authenticate({
        authorization: typeof authorization === 'string' ? authorization : undefined,
        apiKey: typeof apiKey === 'string' ? apiKey : undefined,
      });
      const viewerWait = await rateLimits.connectionBy(viewer);
      if (viewerWait !== undefined) return this.refuseAttempt(viewerWait);
      if (viewer.kind === 'anonymous') this.admitAnonymous();
      else await this.bind(viewer);
    } catch (error) {
      const refusal = refusalFor(error);
      if (!refusal) throw error;
      this.close(closeCodeFor(refusal.code), refusal.message);
      return false;
    }
    return !this.ended;
  }

  /**
   * Authenticates an operation by its `extensions.headers`, if it has any. A socket that opened
   * anonymous is bound to the first caller those headers name and cannot change to another.
   * Throws a DomainError (or a database error) to refuse the operation.
   */
  async authorizeOperation(extensions: Record<string, unknown> | null | undefined) {
    const credentials = operationCredentials(extensions);
    if (!credentials) return;
    const viewer = await this.deps.authenticate(credentials);
    if (viewer.kind !== 'anonymous') await this.bind(viewer);
  }

  /** Releases what the socket holds; called once it has closed, whatever it was doing. */
  async end() {
    if (this.ended) return;
    this.ended = true;
    this.anonymousRelease?.();
    for (const release of this.releases.splice(0)) release();
    // A connect still waiting on the database removes its own record when it returns.
    await this.binding?.catch(() => {});
    if (this.connectionId) await this.forget(this.connectionId);
  }

  private async bind(viewer: Caller) {
    this.binding ??= this.record(viewer).catch((error: unknown) => {
      this.binding = undefined;
      throw error;
    });
    await this.binding;
    if (!sameCaller(this.viewer, viewer)) {
      // Or the socket closed while it was being recorded: nothing may run for it then.
      throw new DomainError('FORBIDDEN', 'this connection belongs to another caller');
    }
  }

  private async record(viewer: Caller) {
    let connectionId: string | undefined;
    if (viewer.kind === 'user') {
      connectionId = randomUUID();
      const recorded = await this.deps.connections.open(
        connectionId,
        viewer.userId,
        viewer.sessionId,
        () => this.ended,
      );
      // The socket closed while its connect was queued: nothing was written.
      if (!recorded) return;
    }
    if (this.ended) {
      // The socket closed while the record was being written.
      if (connectionId) await this.forget(connectionId);
      return;
    }
    this.connectionId = connectionId;
    this.viewer = viewer;
    this.anonymousRelease?.();
    this.watchCredentials(viewer);
  }

  /**
   * A token that expires or a key revoked closes the socket; a client reconnects with new ones,
   * often at once: its record goes first, so the old socket does not count against the new one.
   */
  private watchCredentials(viewer: Caller) {
    this.releases.push(
      this.deps.credentials.watch(viewer, (why) => {
        const { connectionId } = this;
        this.connectionId = undefined;
        void (connectionId ? this.forget(connectionId) : Promise.resolve()).then(() =>
          this.close(closeCodeFor(why.code), why.message),
        );
      }),
    );
  }

  /** An anonymous socket holds a place of its address until it authenticates, for a while. */
  private admitAnonymous() {
    if (this.ended) return;
    const release = this.deps.anonymousSockets.admit(this.address);
    const { anonymousTimeoutMs } = this.deps;
    const timer = setTimeout(
      () =>
        this.close(
          CLOSE.anonymousTimeout.code,
          `no authenticated operation within ${anonymousTimeoutMs} ms`,
        ),
      anonymousTimeoutMs,
    );
    this.viewer = anonymous;
    this.anonymousRelease = () => {
      clearTimeout(timer);
      release();
      this.anonymousRelease = undefined;
    };
  }

  private refuseAttempt(waitSeconds: number) {
    this.close(
      CLOSE.rateLimited.code,
      `too many connection attempts; retry after ${waitSeconds} s`,
    );
    return false;
  }

  private close(code: number, reason: string) {
    this.socket.close(code, reason);
  }

  /** A record left behind is reaped with its instance; a failure here must not crash. */
  private forget(connectionId: string) {
    return this.deps.connections
      .close(connectionId)
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'connection record not removed'),
      );
  }
}

const sameCaller = (a: Viewer | undefined, b: Caller) =>
  (a?.kind === 'user' && b.kind === 'user' && a.userId === b.userId) ||
  (a?.kind === 'service' && b.kind === 'service' && a.service === b.service);
