import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { readiness, type Dependency } from './readiness.js';

export type Metrics = ReturnType<typeof createMetrics>;

/** The labels of notifications_sent_total for one notification stored. */
export const sentLabels = (notification: { categoryName: string; public: boolean }) => ({
  category: notification.categoryName,
  audience: notification.public ? 'public' : 'private',
});

/**
 * The service's own metrics, in a registry of the app's (never the global one: tests run several
 * apps in one process). Yoga's Prometheus plugin adds the GraphQL request metrics to it and
 * serves it at /metrics.
 */
export function createMetrics(dependencies: Record<string, Dependency>) {
  // Both dependency gauges read one readiness check per scrape: prom-client collects the
  // metrics of a scrape together, so the second asks while the first's check is under way.
  let checking: ReturnType<typeof readiness> | undefined;
  const checkOnce = () =>
    (checking ??= readiness(dependencies).finally(() => (checking = undefined)));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    connectedSockets: new Gauge({
      name: 'notifications_connected_sockets',
      help: 'Open graphql-ws connections on this instance.',
      registers,
    }),
    sseSubscriptions: new Gauge({
      name: 'notifications_sse_subscriptions',
      help: 'Open subscriptions over Server-Sent Events on this instance.',
      registers,
    }),
    activeSubscriptions: new Gauge({
      name: 'notifications_active_subscriptions',
      help: 'Running subscriptions on this instance, by root field.',
      labelNames: ['operation'],
      registers,
    }),
    sent: new Counter({
      name: 'notifications_sent_total',
      help: 'Notifications stored by sendNotification (repeats of an idempotency key excluded; scheduled ones when delivered).',
      labelNames: ['category', 'audience'],
      registers,
    }),
    deliveries: new Counter({
      name: 'notifications_deliveries_total',
      help: 'Events handed to subscribers on this instance, by event type.',
      labelNames: ['type'],
      registers,
    }),
    sendToDeliver: new Histogram({
      name: 'notifications_send_to_deliver_seconds',
      help: 'From a notification being stored to its live CREATED event being handed to a subscriber.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    retentionDeleted: new Counter({
      name: 'notifications_retention_deleted_total',
      help: 'Notifications deleted by the retention job on this instance.',
      registers,
    }),
    retentionRows: new Counter({
      name: 'notifications_retention_rows_total',
      help: 'Rows the retention job deleted or appended on this instance, by part (expiry: public expiries settled; deletion; prune).',
      labelNames: ['part'],
      registers,
    }),
    retentionFailures: new Counter({
      name: 'notifications_retention_failures_total',
      help: 'Runs of a retention part (expiry, deletion, prune) that failed on this instance; see the log.',
      labelNames: ['part'],
      registers,
    }),
    webhookAttempts: new Counter({
      name: 'notifications_webhook_deliveries_total',
      help: 'Webhook delivery attempts made by this instance, by what came of them: delivered, retry (to be tried again), failed (for good, past WEBHOOK_RETRY_HOURS), released (the instance stopped mid-attempt).',
      labelNames: ['outcome'],
      registers,
    }),
    busBacklogBytes: new Gauge({
      name: 'notifications_bus_backlog_bytes',
      help: 'Bytes of Redis messages received on this instance and waiting to be handled.',
      registers,
    }),
    busDropped: new Counter({
      name: 'notifications_bus_dropped_total',
      help: 'Redis messages dropped because the backlog was full (their events are read from the log).',
      registers,
    }),
    dependencyUp: new Gauge({
      name: 'notifications_dependency_up',
      help: '1 while the dependency answers, 0 while it does not (checked at each scrape).',
      labelNames: ['dependency'],
      registers,
      async collect() {
        const { checks } = await checkOnce();
        for (const [dependency, state] of Object.entries(checks)) {
          this.set({ dependency }, state === 'ok' ? 1 : 0);
        }
      },
    }),
    replicaReads: new Counter({
      name: 'notifications_replica_reads_total',
      help: 'Client snapshot reads (inbox, history, counts) by the server that served them, with DATABASE_REPLICA_URL set.',
      labelNames: ['target'],
      registers,
    }),
    replicaFallbacks: new Counter({
      name: 'notifications_replica_fallbacks_total',
      help: 'Reads sent to the primary because the replica lagged past REPLICA_MAX_WAIT_MS, failed, or cancelled them in a conflict with recovery.',
      labelNames: ['reason'],
      registers,
    }),
    degraded: new Gauge({
      name: 'notifications_degraded',
      help: '1 while the instance serves without an optional dependency (Redis), as /readyz reports.',
      registers,
      async collect() {
        this.set((await checkOnce()).status === 'degraded' ? 1 : 0);
      },
    }),
  };
}
