import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RedisCluster } from './helpers/redis-cluster.js';

// The bench and the tests start Redis Clusters of their own: one that cannot form must not leave
// its servers running (and their ports taken) behind the failure.

/** The redis-servers this process started and that still run. */
async function ownRedisServers(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "<pid> (<comm>) <state> <ppid> ...": the command name is in parentheses.
    const match = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (match?.[1] === 'redis-server' && Number(match[2]) === process.pid) found.push(+entry);
  }
  return found;
}

describe('a Redis Cluster of our own', () => {
  it('stops the servers it started when the cluster cannot form', async () => {
    // redis-cli refuses a cluster of fewer than three masters.
    await expect(RedisCluster.start(2)).rejects.toThrow();
    expect(await ownRedisServers()).toEqual([]);
  });
});
