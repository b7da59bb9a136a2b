import { printedSchema } from '../../src/schema/index.js';

// scripts/print-schema.ts, but to stdout: run under tsx, as `npm run schema` runs.
process.stdout.write(printedSchema());
