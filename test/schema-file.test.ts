import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { TSX, run, serviceEnv } from './helpers/process.js';

// The schema is printed in a child process under tsx, as `npm run schema` prints it: inside
// Vitest, src/ gets graphql's ESM build while Pothos gets the CommonJS one, and sorting the schema
// fails with "Cannot use GraphQLScalarType from another module or realm".
it('commits in schema.graphql exactly the schema the code builds', async () => {
  const printed = await run(TSX, ['test/helpers/print-schema.ts'], { env: serviceEnv() });
  expect(printed.stderr).toBe('');
  expect(printed.code).toBe(0);
  const committed = await readFile(new URL('../schema.graphql', import.meta.url), 'utf8');
  expect(
    committed,
    'schema.graphql differs from what src/schema builds: run `npm run schema` and commit it',
  ).toBe(printed.stdout);
});
