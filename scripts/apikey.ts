import { createApiKey, revokeApiKey } from '../src/auth/api-keys.js';
import { withDatabase } from './with-database.js';

// npm run apikey -- create <name> | revoke <name>: service API keys stored hashed in the database.

const [command, name] = process.argv.slice(2);
if (!name || (command !== 'create' && command !== 'revoke')) {
  console.error('usage: npm run apikey -- create <name> | revoke <name>');
  process.exit(2);
}
process.exitCode = await withDatabase(async (database) => {
  if (command === 'create') {
    const key = await createApiKey(database, name);
    console.log(`API key "${name}" (shown once; send it as the x-api-key header):\n${key}`);
    return 0;
  }
  if (await revokeApiKey(database, name)) {
    console.log(`API key "${name}" revoked`);
    return 0;
  }
  console.error(`no active API key named "${name}"`);
  return 1;
});
