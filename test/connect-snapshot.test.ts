import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, upsertCategory, userSocket } from './helpers/operations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// Step 2: the connect query. Whatever a client asks of unseenNotifications, unseenCount and
// eventCursor in one request, and however it writes it, the answers stand at one moment: the
// count is the list's length, and nothing at or below the cursor is missing from the list
// (the replay from that cursor would never bring it).

let server: TestServer;
const USER = 'snapshot-user';

beforeAll(async () => {
  // The pollers read as fast as they can; rate limits are not the subject here.
  server = await startTestServer({ env: { RATE_LIMIT_QUERIES_PER_USER: '0' } });
  await upsertCategory(server, { name: 'info' });
});
afterAll(() => server.stop());

interface Answer {
  list?: string[];
  lists?: string[][];
  count?: number;
  cursor: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each shape reads its own aliases
type Data = any;

/** The connect query as clients write it: fields in any order, aliased, repeated, some left out. */
const SHAPES: {
  query: string;
  variables?: Record<string, unknown>;
  read: (data: Data) => Answer;
}[] = [
  {
    query: `{ unseenNotifications(limit: 1000) { id } unseenCount eventCursor }`,
    read: (d) => ({
      list: ids(d.unseenNotifications),
      count: d.unseenCount,
      cursor: d.eventCursor,
    }),
  },
  {
    query: `query Connect { eventCursor unseenCount unseenNotifications(limit: 1000) { id title } }`,
    read: (d) => ({
      list: ids(d.unseenNotifications),
      count: d.unseenCount,
      cursor: d.eventCursor,
    }),
  },
  {
    query: `query ($max: Int) { at: eventCursor inbox: unseenNotifications(limit: $max) { id }
      n: unseenCount again: unseenNotifications(limit: 1000) { id } }`,
    variables: { max: 1000 },
    read: (d) => ({ lists: [ids(d.inbox), ids(d.again)], count: d.n, cursor: d.at }),
  },
  {
    query: `{ total: unseenCount position: eventCursor }`,
    read: (d) => ({ count: d.total, cursor: d.position }),
  },
  {
    query: `{ c: eventCursor l: unseenNotifications(limit: 1000) { id } }`,
    read: (d) => ({ list: ids(d.l), cursor: d.c }),
  },
  {
    query: `{ ...Everything }
      fragment Everything on Query { unseenCount eventCursor unseenNotifications(limit: 1000) { id } }`,
    read: (d) => ({
      list: ids(d.unseenNotifications),
      count: d.unseenCount,
      cursor: d.eventCursor,
    }),
  },
];

const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe('the connect query', () => {
  it('reads list, count and cursor from one snapshot, however the request is written', async () => {
    const SENDS = 400;
    let sent = 0;
    let visibleToUser = 0;
    const sender = async () => {
      while (sent < SENDS) {
        const n = sent++;
        // Public, to the user, and to someone else: all three streams move.
        const audience =
          n % 3 === 0
            ? { public: true }
            : { recipientIds: n % 3 === 1 ? [USER] : ['someone-else'] };
        if (n % 3 !== 2) visibleToUser++;
        await send(server, { category: 'info', title: `n${n}`, ...audience });
      }
    };
    const answers: { shape: number; answer: Answer }[] = [];
    let sending = true;
    const poller = async (offset: number) => {
      for (let i = offset; sending; i++) {
        const shape = i % SHAPES.length;
        const { query, variables, read } = SHAPES[shape]!;
        const result = await server.request(query, variables, USER);
        expect(result.errors, query).toBeUndefined();
        answers.push({ shape, answer: read(result.data) });
      }
    };
    const polling = [0, 1, 2].map(poller);
    await Promise.all([1, 2, 3, 4, 5, 6].map(sender));
    sending = false;
    await Promise.all(polling);
    expect(answers.length).toBeGreaterThan(SHAPES.length * 5);

    // Where each notification the user can see was created in the log.
    const created = await server.app.services.database.event.findMany({
      where: { type: 'CREATED', stream: { in: ['public', `user:${USER}`] } },
      select: { stream: true, seq: true, notificationId: true },
    });
    expect(created).toHaveLength(visibleToUser);
    const coveredBy = (cursor: string) => {
      const [publicSeq, userSeq] = cursor.split('.').map(BigInt) as [bigint, bigint];
      return created
        .filter((e) => e.seq <= (e.stream === 'public' ? publicSeq : userSeq))
        .map((e) => e.notificationId)
        .sort();
    };

    const wrong = answers.filter(({ answer }) => {
      const expected = coveredBy(answer.cursor);
      const lists = answer.lists ?? (answer.list ? [answer.list] : []);
      return (
        lists.some((list) => JSON.stringify([...list].sort()) !== JSON.stringify(expected)) ||
        (answer.count !== undefined && answer.count !== expected.length)
      );
    });
    expect(wrong.map(({ shape }) => SHAPES[shape]!.query)).toEqual([]);
  }, 180_000);

  it('ends the snapshot with the request, also when a field fails, over HTTP and graphql-ws', async () => {
    const bad = await server.request(
      `{ unseenCount eventCursor unseenNotifications(limit: 5000) { id } }`,
      {},
      USER,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.data).toBeNull();
    const socket = await userSocket(server, USER);
    const overSocket = await new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      socket.subscribe(
        { query: `{ n: unseenCount c: eventCursor }` },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
      );
    });
    expect(overSocket).toMatchObject({ data: { n: expect.any(Number), c: expect.any(String) } });
    // The commit follows the response by a moment; it must come, not hang until a timeout.
    const database = server.app.services.database;
    const open = () => database.$queryRaw<{ state: string }[]>`
      SELECT state FROM pg_stat_activity
      WHERE datname = current_database() AND state LIKE 'idle in transaction%'`;
    expect(await until(open, (sessions) => sessions.length === 0, 2000)).toEqual([]);
  });
});
