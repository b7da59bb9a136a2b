import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `vite examples/react-inbox` serves it; `vite build examples/react-inbox` builds it into dist/.
// The packages are imported by name, as an app that installed them would; here they resolve to
// their sources in packages/.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@notifications/client/worker': source('../../packages/client/src/worker.ts'),
      '@notifications/client': source('../../packages/client/src/index.ts'),
      '@notifications/react/theme.css': source('../../packages/react/theme.css'),
      '@notifications/react': source('../../packages/react/src/index.ts'),
    },
  },
  // The SharedWorker (?worker=1) is a module worker: it imports the client and graphql-ws.
  worker: { format: 'es' },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { port: 5174 },
});
