import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { until } from './wait.js';
import { Redis } from 'ioredis';

/** A redis-server of the test's own on a free port, so a fault test can stop and restart it. */
export class RedisProcess {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {}

  static async start(extraArgs: string[] = []): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort(), extraArgs);
    await redis.start();
    return redis;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.child = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50 });
    probe.on('error', () => {});
    try {
      await until(
        () =>
          probe.ping().then(
            () => true,
            () => false,
          ),
        (up) => up,
        5000,
      );
    } catch (error) {
      // A server that never answered (its port taken since it was chosen) is not left running.
      await this.stop();
      throw error;
    } finally {
      probe.disconnect();
    }
  }

  /** Whether its process is still running. */
  get alive(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async stop() {
    const child = this.child;
    // A process killed by a signal keeps exitCode null: it has ended all the same.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
