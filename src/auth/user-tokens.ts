import {
  SignJWT,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AuthenticationError, type Viewer } from './viewer.js';

export interface UserTokenSettings {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export type UserTokenVerifier = (token: string) => Promise<Extract<Viewer, { kind: 'user' }>>;

/** Verifies user JWTs: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL. */
export function createUserTokenVerifier(settings: UserTokenSettings): UserTokenVerifier {
  const key: Promise<CryptoKey> | JWTVerifyGetKey = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl))
    : hmacVerifyKey(secretKey(settings.secret));
  const algorithms = settings.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  return async (token) => {
    let payload: JWTPayload;
    try {
      const verifyWith = typeof key === 'function' ? key : await key;
      ({ payload } = await jwtVerify(token, verifyWith as CryptoKey, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    const roles = Array.isArray(payload.roles) ? payload.roles : [];
    return {
      kind: 'user',
      userId: payload.sub as string,
      admin: roles.includes('admin'),
      sessionId: typeof payload.sid === 'string' ? payload.sid : undefined,
      // `exp` is required above, in seconds.
      expiresAt: (payload.exp as number) * 1000,
    };
  };
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `token claim invalid: ${error.claim}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  return 'token malformed';
}

/** Imported once: given the secret's bytes, jose imports them again for every token. */
function hmacVerifyKey(secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
}

function secretKey(secret: string | undefined): Uint8Array<ArrayBuffer> {
  if (!secret) throw new Error('a JWT secret or a JWKS URL is required');
  return new TextEncoder().encode(secret);
}

export interface MintOptions {
  admin?: boolean;
  /** A jose time span such as "1h" or "7d". */
  ttl?: string;
  sessionId?: string;
}

/** Signs an HS256 user token; for development and tests, production tokens come from the IdP. */
export function mintUserToken(secret: string, userId: string, options: MintOptions = {}) {
  const token = new SignJWT({ roles: options.admin ? ['admin'] : [], sid: options.sessionId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(options.ttl ?? '1h');
  return token.sign(secretKey(secret));
}
