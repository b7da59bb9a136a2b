import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';

/** How often an instance reads the heads of the streams it has subscribers for. */
const CHECK_EVERY_MS = 2000;
/** How long a head may wait for the message of its newest event before that counts as lost. */
const IN_FLIGHT_MS = 1000;
/** Streams per query, so each query is bounded however many streams an instance serves. */
const STREAMS_PER_QUERY = 1000;

export interface StreamHeadCheck {
  start(): void;
  stop(): void;
}

/**
 * A message the bus lost (a publish that failed for good, a subscriber that missed one) is
 * otherwise found only when the next event of its stream arrives. So every few seconds this
 * reads the heads of the streams that `streams` names, one indexed lookup per stream, and after
 * a moment for messages still on their way hands them to `onHeads`, which tells subscribers that
 * are behind to catch up from the log. A lost message is found within CHECK_EVERY_MS + IN_FLIGHT_MS.
 */
export function checkStreamHeads(options: {
  database: Database;
  streams: () => string[];
  onHeads: (heads: Map<string, bigint>) => void;
  logger: Logger;
}): StreamHeadCheck {
  const stopped = new AbortController();
  const wait = (ms: number) => sleep(ms, undefined, { signal: stopped.signal, ref: false });
  const loop = async () => {
    for (;;) {
      await wait(CHECK_EVERY_MS - IN_FLIGHT_MS);
      const heads = await readHeads(options.database, options.streams()).catch((error) => {
        options.logger.debug({ err: error }, 'stream heads could not be read');
        return new Map<string, bigint>();
      });
      await wait(IN_FLIGHT_MS);
      options.onHeads(heads);
    }
  };
  return {
    start: () =>
      void loop().catch((error: unknown) => {
        if (!stopped.signal.aborted)
          options.logger.error({ err: error }, 'stream head check ended');
      }),
    stop: () => stopped.abort(),
  };
}

async function readHeads(database: Database, streams: string[]) {
  const heads = new Map<string, bigint>();
  for (let start = 0; start < streams.length; start += STREAMS_PER_QUERY) {
    const rows = await database.stream.findMany({
      where: { id: { in: streams.slice(start, start + STREAMS_PER_QUERY) } },
    });
    for (const row of rows) heads.set(row.id, row.seq);
  }
  return heads;
}
