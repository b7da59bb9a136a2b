import { Cluster as RedisClusterClient, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairForTests } from './helpers/cluster.js';
import { follow, send } from './helpers/operations.js';
import { RedisCluster } from './helpers/redis-cluster.js';
import { SHAPES } from './helpers/shapes.js';
import { until } from './helpers/wait.js';

// Two instances on a Redis Cluster of the test's own (three masters, a replica each): events go
// over sharded pub/sub spread across the masters, deliveries cross instances, and a master killed
// mid-traffic is replaced by its replica while every follower still ends with every event once.

const SHARDS = 8;
let redis: RedisCluster;
beforeAll(async () => {
  redis = await RedisCluster.start(3);
}, 60_000);
// After the pair below has stopped: `afterAll` hooks run in the reverse order of registration.
afterAll(() => redis?.stop());
const pair = pairForTests(
  () => ({
    env: { REDIS_URL: '', REDIS_CLUSTER_NODES: redis.seeds, REDIS_CLUSTER_SHARDS: String(SHARDS) },
    categories: [{ name: 'info' }],
  }),
  60_000,
);

const shardChannels = () =>
  Array.from({ length: SHARDS }, (_, n) => `${pair.channelPrefix}events:{${n}}`);

/** Per master: how many of the instances' shard channels it carries, with their subscribers. */
async function shardChannelsByMaster() {
  const channels = shardChannels();
  const byMaster = new Map<number, number>();
  for (const port of await redis.masterPorts()) {
    const node = new Redis(port, '127.0.0.1');
    // A master answers for the channels whose slots it owns; both instances subscribe to each.
    const counts = (await node.call('PUBSUB', 'SHARDNUMSUB', ...channels)) as (string | number)[];
    node.disconnect();
    let carried = 0;
    for (let i = 1; i < counts.length; i += 2) if (Number(counts[i]) === 2) carried++;
    byMaster.set(port, carried);
  }
  return byMaster;
}

describe('on a Redis Cluster', () => {
  it('spreads the shard channels over every master, each subscribed by both instances', async () => {
    const byMaster = await shardChannelsByMaster();
    expect(byMaster.size).toBe(3);
    expect([...byMaster.values()].every((carried) => carried > 0)).toBe(true);
    expect([...byMaster.values()].reduce((x, y) => x + y, 0)).toBe(SHARDS);
  });

  it('counts rate limits in the cluster, shared by both instances', async () => {
    await send(pair.a, { category: 'info', recipientIds: ['counted'], title: 'counted' });
    const keys: string[] = [];
    for (const port of await redis.masterPorts()) {
      const node = new Redis(port, '127.0.0.1');
      keys.push(...(await node.keys(`${pair.channelPrefix}rate:*`)));
      node.disconnect();
    }
    expect(keys.length).toBeGreaterThan(0);
  });

  it('delivers across instances, and through a master failover every event arrives once', async () => {
    // Followers on b, written the ways users write them; sends go through a and b in turn.
    const users = SHAPES.map((_, index) => `cluster-user-${index}`);
    const followers = await Promise.all(
      users.map((user, index) => follow(pair.b, user, undefined, { shape: SHAPES[index]! })),
    );
    // A tap on every shard channel: the events really travel over sharded pub/sub.
    const tap = new RedisClusterClient(
      redis.seeds
        .split(',')
        .map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
      { shardedSubscribers: true },
    );
    tap.on('error', () => {});
    const tapped = new Map<string, number>();
    tap.on('smessage', (channel: string) => tapped.set(channel, (tapped.get(channel) ?? 0) + 1));
    for (const channel of shardChannels()) await tap.ssubscribe(channel);
    const sent = new Map<string, string[]>(users.map((user) => [user, []]));
    let stopSending = false;
    const sending = (async () => {
      for (let i = 0; !stopSending || i < 20; i++) {
        const user = users[i % users.length]!;
        const through = i % 2 === 0 ? pair.a : pair.b;
        const { notification } = await send(through, {
          category: 'info',
          recipientIds: [user],
          title: `cluster-${i}`,
        });
        sent.get(user)!.push(notification.id);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await until(
      () => followers.every((f) => f.results.length >= 2),
      (all) => all,
      10_000,
    );
    // Several users' streams, several shard channels.
    expect(tapped.size).toBeGreaterThan(1);
    tap.disconnect();
    const [victim] = await redis.masterPorts();
    await redis.killMaster(victim!);
    await redis.untilHealthy(30_000);
    // Traffic goes on after the failover, then stops.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stopSending = true;
    await sending;

    for (const [index, follower] of followers.entries()) {
      const owed = sent.get(users[index]!)!;
      await follower.waitForCount(owed.length, 20_000);
      const ids = follower.results.map((r) => r.data!.myNotifications.notification.id);
      // Every send to the user, once, in the order it was sent (one sender at a time).
      expect(ids).toEqual(owed);
    }
  }, 90_000);
});
