import type { Metrics } from './observability/metrics.js';
import type { Authenticator } from './auth/authenticate.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Logger } from './logger.js';
import type { EventBus } from './notifications/event-bus.js';
import type { StreamHooks } from './realtime/notification-stream.js';
import type { ConnectionRegistry } from './connections/connection-registry.js';

/** The parts of one running app, built once in buildApp and handed to resolvers in context. */
export interface Services {
  config: Config;
  logger: Logger;
  database: Database;
  authenticate: Authenticator;
  bus: EventBus;
  connections: ConnectionRegistry;
  instanceId: string;
  metrics: Metrics;
  /** Empty in the service; tests set hooks here to act at exact steps of a subscription. */
  streamHooks: StreamHooks;
}
