import type { Metrics } from './observability/metrics.js';
import type { Authenticator } from './auth/authenticate.js';
import type { Config } from './config.js';
import type { Database, Pool } from './db/client.js';
import type { ReplicaReads } from './db/replica.js';
import type { Logger } from './logger.js';
import type { Catalog } from './notifications/catalog.js';
import type { EventBus } from './notifications/event-bus.js';
import type { Sender } from './notifications/send.js';
import type { StreamHooks } from './realtime/notification-stream.js';
import type { ConnectionRegistry } from './connections/connection-registry.js';

/** The parts of one running app, built once in buildApp and handed to resolvers in context. */
export interface Services {
  config: Config;
  logger: Logger;
  database: Database;
  /** The pool Prisma runs on, where the hot statements run directly (prepared). */
  pool: Pool;
  /** With DATABASE_REPLICA_URL: where client snapshot reads go (see schema/read-snapshot.ts). */
  replica?: ReplicaReads;
  /** Categories and templates, kept in the process. */
  catalog: Catalog;
  sender: Sender;
  authenticate: Authenticator;
  bus: EventBus;
  connections: ConnectionRegistry;
  instanceId: string;
  metrics: Metrics;
  /** Empty in the service; tests set hooks here to act at exact steps of a subscription. */
  streamHooks: StreamHooks;
}
