import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, startTestServer, type TestServer } from './helpers/server.js';

// Tokens from an identity provider: verified with the keys its JWKS URL publishes (RS256, ES256).

const VIEWER = '{ viewer { kind id admin } }';
let jwks: Server;
let server: TestServer;
const keys = { es: await generateKeyPair('ES256'), rs: await generateKeyPair('RS256') };
const other = await generateKeyPair('ES256');

beforeAll(async () => {
  const published = {
    keys: [
      { ...(await exportJWK(keys.es.publicKey)), kid: 'es', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(keys.rs.publicKey)), kid: 'rs', alg: 'RS256', use: 'sig' },
    ],
  };
  jwks = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(published));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const { port } = jwks.address() as AddressInfo;
  server = await startTestServer({
    env: {
      JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: 'https://id.example',
      JWT_AUDIENCE: 'notifications',
      // Configured alongside on purpose: an HS256 token signed with it must still be refused.
      JWT_SECRET: TEST_JWT_SECRET,
    },
  });
});
afterAll(async () => {
  await server.stop();
  await new Promise((resolve) => jwks.close(resolve));
});

const sign = (
  alg: 'ES256' | 'RS256',
  kid: string,
  key: CryptoKey,
  { issuer = 'https://id.example', audience = 'notifications' } = {},
) =>
  new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg, kid })
    .setSubject('idp-user')
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime('5m')
    .sign(key);

const asViewer = async (token: string) =>
  server.request(VIEWER, {}, { headers: { authorization: `Bearer ${token}` } });

describe('JWT_JWKS_URL', () => {
  it('accepts ES256 and RS256 tokens signed with a published key', async () => {
    for (const token of [
      await sign('ES256', 'es', keys.es.privateKey),
      await sign('RS256', 'rs', keys.rs.privateKey),
    ]) {
      expect((await asViewer(token)).data).toEqual({
        viewer: { kind: 'USER', id: 'idp-user', admin: true },
      });
    }
  });

  it('refuses a key it does not publish, another issuer or audience', async () => {
    const refused = [
      await sign('ES256', 'es', other.privateKey),
      await sign('ES256', 'es', keys.es.privateKey, { issuer: 'https://evil.example' }),
      await sign('ES256', 'es', keys.es.privateKey, { audience: 'someone-else' }),
    ];
    for (const token of refused) {
      const result = await asViewer(token);
      expect(result.status).toBe(401);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  // Each token below is valid in every way but its algorithm: right issuer, audience, subject
  // and expiry, HMAC-signed with a secret a naive verifier would accept (the JWT_SECRET that is
  // configured alongside, or a published public key used as an HMAC secret: algorithm confusion).
  // So only the algorithm check can refuse it, and the reason must say so.
  it('refuses HS256 even when signed with the configured JWT_SECRET or a published key', async () => {
    const hmacSecrets = {
      JWT_SECRET: new TextEncoder().encode(TEST_JWT_SECRET),
      'RS256 public key (PEM)': new TextEncoder().encode(await exportSPKI(keys.rs.publicKey)),
      'RS256 public key (JWK)': new TextEncoder().encode(
        JSON.stringify(await exportJWK(keys.rs.publicKey)),
      ),
    };
    for (const [name, secret] of Object.entries(hmacSecrets)) {
      for (const kid of [undefined, 'rs']) {
        const token = await new SignJWT({ roles: ['admin'] })
          .setProtectedHeader(kid ? { alg: 'HS256', kid } : { alg: 'HS256' })
          .setSubject('idp-user')
          .setIssuer('https://id.example')
          .setAudience('notifications')
          .setExpirationTime('5m')
          .sign(secret);
        const result = await asViewer(token);
        expect({ name, kid, status: result.status, errors: result.errors }).toMatchObject({
          status: 401,
          errors: [
            {
              message: 'token algorithm not allowed',
              extensions: { code: 'UNAUTHENTICATED' },
            },
          ],
        });
      }
    }
  });
});
