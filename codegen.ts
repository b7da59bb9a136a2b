import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for Apollo, urql and any client that takes a TypedDocumentNode: write the
// operation in documents/*.graphql, run `npm run codegen`, import it from client/.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['documents/**/*.graphql'],
  generates: {
    'client/': {
      preset: 'client',
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
