import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
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
  const agenda = new Agenda({
    backend: new PostgresBackend({
      connectionString: options.databaseUrl,
      tableName: AGENDA_TABLE,
      ensureSchema: false,
    }),
    name: options.instanceId,
    processEvery: `${Math.min(options.intervalSeconds, 5)} seconds`,
  });
  agenda.on('error', (error) => options.logger.error({ err: error }, 'job scheduler error'));
  agenda.define(RETENTION_JOB, async () => {
    const deleted = await deleteDueNotifications(options.retention);
    const pruned = await pruneLogs(options.retention);
    options.logger.info({ job: RETENTION_JOB, deleted, pruned }, 'retention ran');
  });

  return {
    async start() {
      await agenda.start();
      await agenda.every(`${options.intervalSeconds} seconds`, RETENTION_JOB);
    },
    stop: () => agenda.stop(true),
  };
}
