import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { connectUser } from '../test/helpers/connect-user.js';

// The load generator, a separate process commanded by bench/run.ts over IPC. It opens real
// graphql-ws clients (or plain WebSockets for the baseline), sends through the HTTP API, and
// timestamps what arrives.

const now = () => performance.timeOrigin + performance.now();

interface Received {
  count: number;
  last: number;
}
/** Arrivals by notification title: titles are markers the orchestrator chooses. */
const arrivals = new Map<string, Received>();
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let clients: Client[] = [];
let sockets: WebSocket[] = [];

function arrive(title: string) {
  const at = now();
  const entry = arrivals.get(title) ?? { count: 0, last: 0 };
  entry.count += 1;
  entry.last = at;
  arrivals.set(title, entry);
  const sent = sentAt.get(title);
  if (sent !== undefined) latencies.push(at - sent);
}

const SUBSCRIBE =
  'subscription($after: String) { myNotifications(after: $after) { type cursor unseenCount notification { id title body createdAt } } }';
const CONNECT_QUERY = 'query { unseenNotifications(limit: 50) { id title } eventCursor }';

/** A connection the server closed before accepting it, with the close code it gave. */
class Refused extends Error {
  constructor(
    readonly code: number | undefined,
    cause: unknown,
  ) {
    super(`connection refused: ${describe(cause)}`, { cause });
  }
}

async function connectOne(wsUrl: string, secret: string, userId: string) {
  let closeCode: number | undefined;
  const client = await connectUser(wsUrl, userId, {
    secret,
    token: { ttl: '2h' },
    keepAlive: 0,
    onClose: ({ code }) => (closeCode ??= code),
  }).catch((error: unknown) => {
    throw new Refused(closeCode, error);
  });
  const inbox = await new Promise<{ eventCursor: string }>((resolve, reject) => {
    client.subscribe<{ eventCursor: string }>(
      { query: CONNECT_QUERY },
      { next: (result) => resolve(result.data!), error: reject, complete: () => {} },
    );
  }).catch(async (error: unknown) => {
    await client.dispose();
    throw error;
  });
  clients.push(client);
  client.subscribe<{ myNotifications: { notification: { title: string } } }>(
    { query: SUBSCRIBE, variables: { after: inbox.eventCursor } },
    {
      next: (result) => arrive(result.data!.myNotifications.notification.title),
      error: (error) => console.error(`subscription error: ${describe(error)}`),
      complete: () => {},
    },
  );
}

/** Close code of a server that cannot serve now and asks to be retried (graphql-ws retries it). */
const TRY_AGAIN_LATER = 1013;
const CONNECT_ATTEMPTS = 5;

/** Connects as a real client would, retrying "try again later"; ms from first attempt. */
async function connectRetrying(wsUrl: string, secret: string, userId: string) {
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      await connectOne(wsUrl, secret, userId);
      return { ms: now() - started, retries: attempt - 1 };
    } catch (error) {
      const retry = error instanceof Refused && error.code === TRY_AGAIN_LATER;
      if (!retry || attempt === CONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

/** Instances behind one load balancer: the `i`th client or sender takes `urls[i % length]`. */
type Urls = string | string[];
const nth = (urls: Urls, i: number) => (typeof urls === 'string' ? urls : urls[i % urls.length]!);

/**
 * Connects `users`, `concurrency` at a time. With `withinSeconds`, as many as the machine takes
 * in that time: no new connection starts after it, and the first one refused (a limit reached)
 * ends the connecting instead of failing it; `stoppedBy` says which ended it.
 */
async function connect(args: {
  wsUrl: Urls;
  secret: string;
  users: string[];
  concurrency: number;
  withinSeconds?: number;
}) {
  const durations: number[] = [];
  let retries = 0;
  let stoppedBy: string | undefined;
  const started = now();
  const deadline =
    args.withinSeconds === undefined ? Infinity : started + args.withinSeconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (next < args.users.length && stoppedBy === undefined) {
        if (now() > deadline) {
          stoppedBy = `${args.withinSeconds} s passed`;
          break;
        }
        const index = next++;
        try {
          const result = await connectRetrying(
            nth(args.wsUrl, index),
            args.secret,
            args.users[index]!,
          );
          durations.push(result.ms);
          retries += result.retries;
        } catch (error) {
          if (args.withinSeconds === undefined) throw error;
          stoppedBy ??= describe(error);
        }
      }
    }),
  );
  return {
    durations,
    retries,
    seconds: (now() - started) / 1000,
    connected: durations.length,
    stoppedBy,
  };
}

async function connectBaseline(args: { wsUrl: string; count: number; concurrency: number }) {
  let next = 0;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (next++ < args.count) {
        const socket = new WebSocket(args.wsUrl);
        socket.on('message', (data: Buffer) =>
          arrive((JSON.parse(data.toString()) as { title: string }).title),
        );
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        sockets.push(socket);
      }
    }),
  );
  return {};
}

const SEND_ONE =
  'mutation($input: SendNotificationInput!) { sendNotification(input: $input) { recipientCount } }';
const SEND_MANY =
  'mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { recipientCount } }';

async function post(httpUrl: string, apiKey: string, query: string, variables: unknown) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

const sendOne = (httpUrl: string, apiKey: string, input: Record<string, unknown>) =>
  post(httpUrl, apiKey, SEND_ONE, { input });

/** Sends one marker and waits until `expected` clients have it; returns ms from send to last. */
async function fanOut(args: {
  httpUrl?: string;
  apiKey?: string;
  baselineUrl?: string;
  title: string;
  expected: number;
  timeoutMs: number;
}) {
  const started = now();
  if (args.baselineUrl) {
    await fetch(args.baselineUrl, {
      method: 'POST',
      body: JSON.stringify({ title: args.title, body: 'x'.repeat(120) }),
    });
  } else {
    await sendOne(args.httpUrl!, args.apiKey!, {
      category: 'bench',
      public: true,
      title: args.title,
      body: 'x'.repeat(120),
    });
  }
  const deadline = started + args.timeoutMs;
  while ((arrivals.get(args.title)?.count ?? 0) < args.expected && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const got = arrivals.get(args.title);
  return { ms: (got?.last ?? now()) - started, received: got?.count ?? 0 };
}

/**
 * Private sends to random online users. With `ratePerSecond`, an open loop at that rate (for
 * latency); without, a closed loop of `concurrency` senders as fast as the service answers.
 */
async function privateSends(args: {
  httpUrl: Urls;
  apiKey: string;
  users: string[];
  seconds: number;
  concurrency: number;
  ratePerSecond?: number;
  prefix: string;
}) {
  latencies.length = 0;
  let sent = 0;
  let failed = 0;
  const started = now();
  const end = started + args.seconds * 1000;
  const sendNext = async (httpUrl: string) => {
    const title = `${args.prefix}-${sent++}`;
    const userId = args.users[Math.floor(Math.random() * args.users.length)]!;
    sentAt.set(title, now());
    await sendOne(httpUrl, args.apiKey, {
      category: 'bench',
      recipientIds: [userId],
      title,
    }).catch(() => failed++);
  };
  if (args.ratePerSecond) {
    const inFlight: Promise<void>[] = [];
    const interval = 1000 / args.ratePerSecond;
    for (let i = 0; now() < end; i++) {
      const due = started + i * interval;
      const wait = due - now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(sendNext(nth(args.httpUrl, i)));
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: args.concurrency }, async (_, sender) => {
        while (now() < end) await sendNext(nth(args.httpUrl, sender));
      }),
    );
  }
  const seconds = (now() - started) / 1000;
  // Let the last deliveries land.
  const settleUntil = now() + 3000;
  while (latencies.length < sent - failed && now() < settleUntil) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { sent, failed, seconds, delivered: latencies.length, latencies: [...latencies] };
}

/**
 * Batches through sendNotifications as fast as the service answers them: `concurrency` senders,
 * each batch `batchSize` sends to `recipientsPerSend` random online users. Counts recipient
 * deliveries stored (answered) and received live.
 */
async function batchSends(args: {
  httpUrl: string;
  apiKey: string;
  users: string[];
  seconds: number;
  concurrency: number;
  batchSize: number;
  recipientsPerSend: number;
  prefix: string;
}) {
  let stored = 0;
  let failed = 0;
  let sent = 0;
  const titles: string[] = [];
  const started = now();
  const end = started + args.seconds * 1000;
  const pick = () => args.users[Math.floor(Math.random() * args.users.length)]!;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (now() < end) {
        const inputs = Array.from({ length: args.batchSize }, () => {
          const title = `${args.prefix}-${sent++}`;
          titles.push(title);
          const recipientIds = [...new Set(Array.from({ length: args.recipientsPerSend }, pick))];
          return { category: 'bench', recipientIds, title };
        });
        const deliveries = inputs.reduce((total, input) => total + input.recipientIds.length, 0);
        await post(args.httpUrl, args.apiKey, SEND_MANY, { inputs }).then(
          () => (stored += deliveries),
          () => (failed += deliveries),
        );
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  const received = () =>
    titles.reduce((total, title) => total + (arrivals.get(title)?.count ?? 0), 0);
  const settleUntil = now() + 5000;
  while (received() < stored && now() < settleUntil) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { stored, failed, seconds, received: received() };
}

/**
 * One send to `recipients` (or to the members of `topic`): ms until it was answered and until
 * `expected` clients had it.
 */
async function largeSend(args: {
  httpUrl: string;
  apiKey: string;
  recipients?: string[];
  topic?: string;
  title: string;
  expected: number;
  timeoutMs: number;
}) {
  const started = now();
  await sendOne(args.httpUrl, args.apiKey, {
    category: 'bench',
    ...(args.topic ? { topic: args.topic } : { recipientIds: args.recipients }),
    title: args.title,
  });
  const answeredMs = now() - started;
  const deadline = started + args.timeoutMs;
  while ((arrivals.get(args.title)?.count ?? 0) < args.expected && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const got = arrivals.get(args.title);
  return { answeredMs, ms: (got?.last ?? now()) - started, received: got?.count ?? 0 };
}

async function disconnect() {
  await Promise.all(clients.map((client) => client.dispose()));
  for (const socket of sockets) socket.terminate();
  clients = [];
  sockets = [];
  arrivals.clear();
  sentAt.clear();
  return {};
}

const commands: Record<string, (args: never) => Promise<unknown>> = {
  connect,
  connectBaseline,
  fanOut,
  privateSends,
  batchSends,
  largeSend,
  disconnect,
};

/** graphql-ws rejects with the socket's CloseEvent, which String() turns into "[object Object]". */
function describe(error: unknown): string {
  if (error instanceof Error) return String(error);
  const { code, reason } = (error ?? {}) as { code?: unknown; reason?: unknown };
  return code === undefined ? String(error) : `socket closed ${code}: ${reason}`;
}

process.on('message', (message: { id: number; command: string; args: unknown }) => {
  commands[message.command]!(message.args as never).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: describe(error) }),
  );
});
process.send!({ ready: true });
