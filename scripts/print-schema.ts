import { writeFile } from 'node:fs/promises';
import { printedSchema } from '../src/schema/index.js';

// npm run schema: writes the schema the code builds to schema.graphql.
await writeFile(new URL('../schema.graphql', import.meta.url), printedSchema());
