import type { ExecutionArgs } from 'graphql';
import type { Metrics } from '../observability/metrics.js';

// Running subscriptions by root field, per socket, so a socket that closes takes its own off the
// gauge whether or not graphql-ws completes them first.

export function trackSubscriptions(metrics: Metrics) {
  const bySocket = new WeakMap<object, Map<string, string>>();
  return {
    /** Counts `args` under its root field if it is a subscription. */
    started(socket: object, id: string, args: ExecutionArgs) {
      const name = subscriptionField(args);
      if (name === undefined) return;
      const running = bySocket.get(socket) ?? new Map<string, string>();
      bySocket.set(socket, running.set(id, name));
      metrics.activeSubscriptions.inc({ operation: name });
    },
    completed(socket: object, id: string) {
      const running = bySocket.get(socket);
      const name = running?.get(id);
      if (name === undefined) return;
      running!.delete(id);
      metrics.activeSubscriptions.dec({ operation: name });
    },
    socketClosed(socket: object) {
      for (const name of bySocket.get(socket)?.values() ?? []) {
        metrics.activeSubscriptions.dec({ operation: name });
      }
      bySocket.delete(socket);
    },
  };
}

function subscriptionField(args: ExecutionArgs): string | undefined {
  const operation = args.document.definitions.find(
    (definition) =>
      definition.kind === 'OperationDefinition' &&
      (!args.operationName || definition.name?.value === args.operationName),
  );
  if (operation?.kind !== 'OperationDefinition' || operation.operation !== 'subscription') {
    return undefined;
  }
  const field = operation.selectionSet.selections[0];
  return field?.kind === 'Field' ? field.name.value : 'unknown';
}
