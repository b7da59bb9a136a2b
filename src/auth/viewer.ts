import { DomainError } from '../errors.js';

/** Who is calling: a signed-in user (from a JWT), a service (from an API key), or nobody. */
export type Viewer =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      userId: string;
      admin: boolean;
      sessionId?: string;
      /** When the token stops being valid (ms since the epoch): a socket it opened closes then. */
      expiresAt?: number;
    }
  | {
      kind: 'service';
      service: string;
      /** The stored key's id, re-checked for revocation while a socket it opened lives. */
      keyId?: string;
    };

export const anonymous: Viewer = { kind: 'anonymous' };

/** Why a credential was refused; the text is safe to show to the caller. */
export class AuthenticationError extends DomainError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
    this.name = 'AuthenticationError';
  }
}
