import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

// The service's own spans. Without tracing (observability/tracing.ts) the OpenTelemetry API is a
// no-op: nothing is recorded or injected, and bus messages carry no trace.

export const tracer = trace.getTracer('notification-service');

/** The W3C traceparent of the active span, to carry to other instances; undefined when untraced. */
export function activeTraceparent(): string | undefined {
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * Runs `work` in a consumer span continuing the trace `traceparent` came from, so what it does
 * (and what it hands on) belongs to that trace; without a traceparent it just runs `work`.
 */
export function continueTrace<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  if (!traceparent) return work();
  const parent = propagation.extract(ROOT_CONTEXT, { traceparent });
  return tracer.startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, (span) =>
    endWith(span, work),
  );
}

/** Ends `span` when `work` settles, marking it failed when `work` throws. */
export async function endWith<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
