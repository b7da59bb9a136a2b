import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import { AGENDA_TABLE } from '../db/migrate.js';
import type { Logger } from '../logger.js';
import {
  deleteDueNotifications,
  pruneLogs,
  type RetentionDeps,
} from '../notifications/retention.js';

export const RETENTION_JOB = 'delete-due-notifications';

export interface JobsOptions {
  databaseUrl: string;
  instanceId: string;
  intervalSeconds: number;
  retention: RetentionDeps;
  logger: Logger;
  /** Told how many notifications each run deleted. */
  onDeleted?: (count: number) => void;
}

export interface Jobs {
  start(): Promise<void>;
  /** Waits for running jobs and releases their locks. */
  stop(): Promise<void>;
}

/**
 * Agenda on the service's own PostgreSQL. `every` keeps one job record for all instances and
 * Agenda locks it while it runs, so each interval's deletion happens once across the cluster.
 */
export function createJobs(options: JobsOptions): Jobs {
  // Our own pool, so a connection PostgreSQL drops (restart, failover) is logged: pg emits it as
  // 'error' on the pool, and the backend's own pool has no listener, which ends the process.
  const pool = new pg.Pool({ connectionString: options.databaseUrl });
  pool.on('error', (error) => options.logger.warn({ err: error }, 'job store lost a connection'));
  const backend = new PostgresBackend({ pool, tableName: AGENDA_TABLE, ensureSchema: false });
  // The LISTEN connection re-emits its loss as 'error' (and reconnects); unheard, it would throw.
  backend.notificationChannel?.on('error', (error) =>
    options.logger.warn({ err: error }, 'job notifications lost their connection'),
  );
  const agenda = new Agenda({
    backend,
    name: options.instanceId,
    processEvery: `${Math.min(options.intervalSeconds, 5)} seconds`,
  });
  agenda.on('error', (error) => options.logger.error({ err: error }, 'job scheduler error'));
  agenda.define(RETENTION_JOB, async () => {
    const deleted = await deleteDueNotifications(options.retention);
    options.onDeleted?.(deleted);
    const pruned = await pruneLogs(options.retention);
    options.logger.info({ job: RETENTION_JOB, deleted, pruned }, 'retention ran');
  });

  return {
    async start() {
      await agenda.start();
      await agenda.every(`${options.intervalSeconds} seconds`, RETENTION_JOB);
    },
    async stop() {
      await agenda.stop(true);
      await pool.end(); // a pool passed in is not the backend's to close
    },
  };
}
