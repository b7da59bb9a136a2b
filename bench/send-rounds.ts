import { sleep } from '../test/helpers/wait.js';
import { addCpu, cpuPer, cpuSample, zeroCpu, type CpuSample } from './cpu.js';
import type { Load, ServiceProcess } from './processes.js';
import { API_KEY } from './service-setup.js';

/** Senders at once in a sends/s round, alternating between the instances given. */
export const SENDERS = 64;

/**
 * Sends/s of each of `rounds` rounds of private sends to random `users` (online), as fast as the
 * `services` answer `SENDERS` senders at once, what each round's receivers got live, and where
 * the CPU went.
 */
export async function sendRounds(
  load: Load,
  args: {
    services: ServiceProcess[];
    users: string[];
    seconds: number;
    rounds: number;
    prefix: string;
  },
) {
  const perSecond: number[] = [];
  const notes: string[] = [];
  const sample = () =>
    cpuSample(
      args.services.map((service) => service.child),
      load.child,
    );
  const cpu: { used: CpuSample | undefined; sent: number } = { used: zeroCpu(), sent: 0 };
  for (let i = 0; i < args.rounds; i++) {
    const before = sample();
    const result = await load.call<{
      sent: number;
      failed: number;
      seconds: number;
      delivered: number;
    }>('privateSends', {
      httpUrl: args.services.map((service) => service.url),
      apiKey: API_KEY,
      users: args.users,
      seconds: args.seconds,
      concurrency: SENDERS,
      prefix: `${args.prefix}${i}`,
    });
    perSecond.push((result.sent - result.failed) / result.seconds);
    notes.push(`${result.delivered}/${result.sent} live, ${result.failed} failed`);
    cpu.used = addCpu(cpu.used, before, sample());
    cpu.sent += result.sent;
    await sleep(1000);
  }
  return { perSecond, notes, cpu: cpuPer('send', cpu.sent, cpu.used) };
}
