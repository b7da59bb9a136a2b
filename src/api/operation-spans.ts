import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { getOperationAST, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { endWith, tracer } from '../observability/spans.js';

/**
 * One span per GraphQL operation, over HTTP, SSE and graphql-ws alike, named as OpenTelemetry's
 * conventions name them (`mutation SendNotification`). Execution runs inside it, so the database
 * and Redis calls a resolver makes, and the bus messages a send publishes, are its children. A
 * subscription's span covers its start; each event it delivers has a `notification.deliver` span.
 *
 * Written here rather than taken from @envelop/opentelemetry: that plugin depends on the 1.x SDK
 * and adds a span per resolved field by default, which a subscription repeats for every event.
 */
export function useOperationSpans(): Plugin {
  const around = (_payload: unknown, wrapped: () => unknown) => {
    const span = tracer.startSpan('graphql.operation');
    // Tracing off (or this trace not sampled): no context to switch.
    if (!span.isRecording()) return wrapped() as void;
    return context.with(trace.setSpan(context.active(), span), () =>
      endWith(span, async () => void (await wrapped())),
    );
  };
  return {
    instrumentation: { execute: around, subscribe: around },
    onExecute: ({ args }) => {
      describe(args);
      return { onExecuteDone: ({ result }) => failed(result as ExecutionResult) };
    },
    onSubscribe: ({ args }) => {
      describe(args);
      return { onSubscribeResult: ({ result }) => failed(result as ExecutionResult) };
    },
  };
}

/** Names the operation's span once the operation is known. */
function describe(args: ExecutionArgs) {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return;
  const name = operation.name?.value;
  span.updateName(name ? `${operation.operation} ${name}` : operation.operation);
  span.setAttributes({
    'graphql.operation.type': operation.operation,
    ...(name && { 'graphql.operation.name': name }),
  });
}

/** An operation answered with errors is a failed span; a subscription's stream is not a result. */
function failed(result: ExecutionResult) {
  const errors = 'errors' in result ? result.errors : undefined;
  if (!errors?.length) return;
  const span = trace.getActiveSpan();
  span?.setStatus({ code: SpanStatusCode.ERROR, message: errors[0]!.message });
  span?.setAttribute('graphql.error.codes', [
    ...new Set(errors.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'))),
  ]);
}
