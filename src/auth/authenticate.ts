import type { ApiKeyVerifier } from './api-keys.js';
import type { UserTokenVerifier } from './user-tokens.js';
import { AuthenticationError, anonymous, type Viewer } from './viewer.js';

export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
}

export type Authenticator = (credentials: Credentials) => Promise<Viewer>;

/** Turns the credentials of a request or connection into a Viewer; bad ones are refused. */
export function createAuthenticator(
  verifyUserToken: UserTokenVerifier,
  verifyApiKey: ApiKeyVerifier,
): Authenticator {
  return async ({ authorization, apiKey }) => {
    if (apiKey) return verifyApiKey(apiKey);
    if (!authorization) return anonymous;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new AuthenticationError('authorization must be "Bearer <token>"');
    return verifyUserToken(match[1]);
  };
}
