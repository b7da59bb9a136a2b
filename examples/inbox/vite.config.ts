import { defineConfig } from 'vite';

// `vite examples/inbox` serves it; `vite build examples/inbox` builds it into dist/.
export default defineConfig({
  // The SharedWorker is a module worker: it imports @notifications/client and graphql-ws.
  worker: { format: 'es' },
  server: { port: 5173 },
});
