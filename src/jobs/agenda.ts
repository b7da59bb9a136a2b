import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import { AGENDA_TABLE } from '../db/migrate.js';
import type { Logger } from '../logger.js';
import {
  deleteDueNotifications,
  pruneLogs,
  settlePublicExpiries,
  type RetentionDeps,
} from '../notifications/retention.js';

const RETENTION_JOB = 'delete-due-notifications';

export interface JobsOptions {
  databaseUrl: string;
  instanceId: string;
  intervalSeconds: number;
  retention: RetentionDeps;
  logger: Logger;
  /** Told what each run of each part did, and of each part that failed. */
  observer?: RetentionObserver;
}

/** The retention job's parts, which run and fail independently. */
export type RetentionPart = 'expiry' | 'deletion' | 'prune';

export interface RetentionObserver {
  deleted(count: number): void;
  rows(part: RetentionPart, count: number): void;
  failed(part: RetentionPart): void;
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
  const { logger, observer } = options;
  /** Runs one part; a failure is logged and counted, and does not keep the other from running. */
  const runPart = async <T extends { rows: number }>(
    part: RetentionPart,
    work: () => Promise<T>,
  ) => {
    try {
      const report = await work();
      observer?.rows(part, report.rows);
      return report;
    } catch (error) {
      logger.error({ err: error, job: RETENTION_JOB, part }, 'retention part failed');
      observer?.failed(part);
      return 'failed' as const;
    }
  };
  agenda.define(RETENTION_JOB, async () => {
    const expiry = await runPart('expiry', () => settlePublicExpiries(options.retention));
    const deletion = await runPart('deletion', () => deleteDueNotifications(options.retention));
    if (deletion !== 'failed') observer?.deleted(deletion.deleted);
    const prune = await runPart('prune', () => pruneLogs(options.retention));
    logger.info({ job: RETENTION_JOB, expiry, deletion, prune }, 'retention ran');
  });

  return {
    async start() {
      await agenda.start();
      const interval = `${options.intervalSeconds} seconds`;
      // `every` keeps a stored job's next run: after the interval changed, that run may be a
      // whole old interval away. Bring it within the new interval first; `every` keeps it then.
      await pool.query(
        `UPDATE "${AGENDA_TABLE}"
         SET next_run_at = LEAST(next_run_at, now() + make_interval(secs => $2))
         WHERE name = $1 AND type = 'single' AND repeat_interval IS DISTINCT FROM $3`,
        [RETENTION_JOB, options.intervalSeconds, interval],
      );
      await agenda.every(interval, RETENTION_JOB);
    },
    async stop() {
      await agenda.stop(true);
      // A LISTEN reconnect under way when Agenda disconnected the channel (the database went
      // away and came back) finishes afterwards: it holds a pool client pool.end() would wait
      // for forever, or schedules the next attempt. Disconnect again whatever it brings up.
      const channel = backend.notificationChannel;
      channel?.on('stateChange', (state: string) => {
        if (state !== 'disconnected') void channel.disconnect();
      });
      if (channel && channel.state !== 'disconnected') await channel.disconnect();
      await pool.end(); // a pool passed in is not the backend's to close
    },
  };
}
