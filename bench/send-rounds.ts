import { sleep } from '../test/helpers/wait.js';
import type { Load } from './processes.js';
import { API_KEY } from './service-setup.js';

/** Senders at once in a sends/s round, alternating between the instances given. */
export const SENDERS = 64;

/**
 * Sends/s of each of `rounds` rounds of private sends to random `users` (online), as fast as the
 * service answers `SENDERS` senders at once, and what each round's receivers got live.
 */
export async function sendRounds(
  load: Load,
  args: {
    httpUrl: string | string[];
    users: string[];
    seconds: number;
    rounds: number;
    prefix: string;
  },
) {
  const perSecond: number[] = [];
  const notes: string[] = [];
  for (let i = 0; i < args.rounds; i++) {
    const result = await load.call<{
      sent: number;
      failed: number;
      seconds: number;
      delivered: number;
    }>('privateSends', {
      httpUrl: args.httpUrl,
      apiKey: API_KEY,
      users: args.users,
      seconds: args.seconds,
      concurrency: SENDERS,
      prefix: `${args.prefix}${i}`,
    });
    perSecond.push((result.sent - result.failed) / result.seconds);
    notes.push(`${result.delivered}/${result.sent} live, ${result.failed} failed`);
    await sleep(1000);
  }
  return { perSecond, notes };
}
