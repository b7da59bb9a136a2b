/** Tracing as started: `stop` sends the spans still buffered, then stops. */
export interface Tracing {
  stop(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing when an OTLP endpoint is configured. Without one nothing of the SDK
 * is loaded and the `@opentelemetry/api` calls in the code stay no-ops. Call it before anything
 * imports pg, ioredis or node:http: their instrumentations hook those imports.
 */
export async function startTracing(endpoint: string | undefined): Promise<Tracing | undefined> {
  if (!endpoint) return undefined;
  const { startTracingSdk } = await import('./tracing-sdk.js');
  return startTracingSdk(endpoint);
}
