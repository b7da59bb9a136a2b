import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisProcess } from './redis-process.js';
import { until } from './wait.js';

const run = promisify(execFile);

/**
 * A Redis Cluster of the test's own: `masters` redis-servers on free ports, each with a replica,
 * joined by `redis-cli --cluster create`. A failed master is replaced by its replica within about
 * NODE_TIMEOUT_MS.
 */
export class RedisCluster {
  static readonly NODE_TIMEOUT_MS = 1000;

  private constructor(
    readonly nodes: RedisProcess[],
    private readonly dir: string,
  ) {}

  /** Starts the servers and joins them; on a failure, stops what it started before throwing. */
  static async start(masters = 3): Promise<RedisCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-cluster-'));
    const started = await Promise.allSettled(
      Array.from({ length: masters * 2 }, (_, index) =>
        RedisProcess.start([
          ...['--cluster-enabled', 'yes', '--cluster-node-timeout', String(this.NODE_TIMEOUT_MS)],
          ...['--cluster-config-file', path.join(dir, `nodes-${index}.conf`), '--dir', dir],
        ]),
      ),
    );
    const nodes = started.flatMap((one) => (one.status === 'fulfilled' ? [one.value] : []));
    const cluster = new RedisCluster(nodes, dir);
    try {
      const failed = started.find((one) => one.status === 'rejected');
      if (failed) throw failed.reason;
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
      await run('redis-cli', [
        ...['--cluster', 'create', ...addresses],
        ...['--cluster-replicas', '1', '--cluster-yes'],
      ]);
      await cluster.untilHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** What REDIS_CLUSTER_NODES is set to: every node, as a service would be configured. */
  get seeds(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
  }

  /** The nodes serving slots now (masters), by port. */
  async masterPorts(): Promise<number[]> {
    const probe = new Redis(this.nodes.find((node) => node.alive)!.port, '127.0.0.1');
    try {
      const listing = (await probe.call('CLUSTER', 'NODES')) as string;
      // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots...>
      return listing
        .split('\n')
        .map((line) => line.split(' '))
        .filter((fields) => fields.length > 8)
        .filter(([, , flags]) => flags!.includes('master') && !flags!.includes('fail'))
        .map(([, address]) => Number(/:(\d+)@/.exec(address!)![1]));
    } finally {
      probe.disconnect();
    }
  }

  /** Every live node says the cluster is ok and every slot has a master. */
  async untilHealthy(timeoutMs = 20_000) {
    await until(
      async () => {
        const states = await Promise.all(
          this.nodes
            .filter((node) => node.alive)
            .map(async (node) => {
              const probe = new Redis(node.port, '127.0.0.1', { lazyConnect: true });
              probe.on('error', () => {});
              try {
                return (await probe.call('CLUSTER', 'INFO')) as string;
              } catch {
                return '';
              } finally {
                probe.disconnect();
              }
            }),
        );
        return states.every((info) => info.includes('cluster_state:ok'));
      },
      (ok) => ok,
      timeoutMs,
    );
  }

  /** SIGKILL the master on `port`; its replica takes over (see untilHealthy). */
  async killMaster(port: number) {
    await this.nodes.find((node) => node.port === port)!.stop();
  }

  async stop() {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
