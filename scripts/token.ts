import { parseArgs } from 'node:util';
import { mintUserToken } from '../src/auth/user-tokens.js';
import { loadConfig } from '../src/config.js';
import { withDevSecrets } from '../src/dev-secrets.js';

// npm run token -- <userId> [--admin] [--ttl 1h] [--session <id>]: a user token for development.

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    admin: { type: 'boolean', default: false },
    ttl: { type: 'string', default: '1h' },
    session: { type: 'string' },
  },
});
const userId = positionals[0];
if (!userId) {
  console.error('usage: npm run token -- <userId> [--admin] [--ttl 1h] [--session <id>]');
  process.exit(2);
}
const config = await withDevSecrets(loadConfig());
if (!config.JWT_SECRET) {
  console.error('JWT_SECRET is not set (tokens for a JWKS issuer come from that issuer)');
  process.exit(1);
}
console.log(
  await mintUserToken(config.JWT_SECRET, userId, {
    admin: values.admin,
    ttl: values.ttl,
    sessionId: values.session,
  }),
);
