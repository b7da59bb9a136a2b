import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga, map, pipe, Repeater } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import { WebSocketServer } from 'ws';

// The peer: what a team would get from the plainest graphql-yoga + graphql-ws server. No
// database, in-memory pub/sub (Yoga's createPubSub), each event executed and serialised once per
// subscriber. Same token, API key, operations and event shape as the service, so the load
// generator drives both the same way.

const secret = new TextEncoder().encode(process.env.BENCH_SECRET);
const apiKey = process.env.BENCH_API_KEY;

interface Notification {
  id: string;
  category: string;
  priority: 'NORMAL';
  requireAck: boolean;
  public: boolean;
  title: string;
  body: string | null;
  createdAt: Date;
  deleteAt: Date;
}
interface Published {
  /** Position in the stream it was published on: public, or the recipient's own. */
  seq: number;
  notification: Notification;
}

// Every subscriber listens on the public topic: Node would warn past 10 listeners.
const eventTarget = new EventTarget();
setMaxListeners(0, eventTarget);
const pubSub = createPubSub<{ public: [Published]; user: [string, Published] }>({ eventTarget });
let publicSeq = 0;
const userSeq = new Map<string, number>();
const unseen = new Map<string, number>();

const typeDefs = /* GraphQL */ `
  scalar DateTime
  enum NotificationPriority {
    LOW
    NORMAL
    HIGH
    URGENT
  }
  enum NotificationEventType {
    CREATED
    SEEN
    ACKNOWLEDGED
    DELETED
  }
  type Notification {
    id: ID!
    category: String!
    priority: NotificationPriority!
    requireAck: Boolean!
    public: Boolean!
    title: String!
    body: String
    createdAt: DateTime!
    deleteAt: DateTime!
    seenAt: DateTime
    acknowledgedAt: DateTime
  }
  type NotificationEvent {
    type: NotificationEventType!
    cursor: String!
    unseenCount: Int!
    notification: Notification!
  }
  input SendNotificationInput {
    category: String!
    recipientIds: [String!]
    public: Boolean
    title: String!
    body: String
  }
  type SendResult {
    recipientCount: Int!
  }
  type Query {
    unseenNotifications(limit: Int): [Notification!]!
    eventCursor: String!
  }
  type Mutation {
    sendNotification(input: SendNotificationInput!): SendResult!
  }
  type Subscription {
    myNotifications(after: String): NotificationEvent!
  }
`;

interface Context {
  userId?: string;
  request?: Request;
}

const cursorOf = (userId: string) => `${publicSeq}.${userSeq.get(userId) ?? 0}`;

const schema = createSchema<Context>({
  typeDefs,
  resolvers: {
    DateTime: {
      serialize: (value: unknown) => (value as Date).toISOString(),
    },
    Query: {
      unseenNotifications: () => [],
      eventCursor: (_, __, context) => cursorOf(context.userId!),
    },
    Mutation: {
      sendNotification: (
        _: unknown,
        {
          input,
        }: {
          input: {
            recipientIds?: string[];
            public?: boolean;
            title: string;
            body?: string;
            category: string;
          };
        },
        context: Context,
      ) => {
        if (context.request?.headers.get('x-api-key') !== apiKey) throw new Error('unauthorised');
        const notification: Notification = {
          id: crypto.randomUUID(),
          category: input.category,
          priority: 'NORMAL',
          requireAck: false,
          public: Boolean(input.public),
          title: input.title,
          body: input.body ?? null,
          createdAt: new Date(),
          deleteAt: new Date(Date.now() + 30 * 86_400_000),
        };
        if (input.public) {
          pubSub.publish('public', { seq: ++publicSeq, notification });
          return { recipientCount: 0 };
        }
        const recipients = [...new Set(input.recipientIds ?? [])];
        for (const userId of recipients) {
          const seq = (userSeq.get(userId) ?? 0) + 1;
          userSeq.set(userId, seq);
          unseen.set(userId, (unseen.get(userId) ?? 0) + 1);
          pubSub.publish('user', userId, { seq, notification });
        }
        return { recipientCount: recipients.length };
      },
    },
    Subscription: {
      myNotifications: {
        // A plain server: every subscriber listens on the shared topic and its own, and each
        // event is resolved for it separately.
        subscribe: (_: unknown, __: unknown, context: Context) => {
          const userId = context.userId!;
          return pipe(
            Repeater.merge([pubSub.subscribe('public'), pubSub.subscribe('user', userId)]),
            map(({ notification }: Published) => ({
              type: 'CREATED',
              cursor: cursorOf(userId),
              unseenCount: publicSeq + (unseen.get(userId) ?? 0),
              notification,
            })),
          );
        },
        resolve: (event: unknown) => event,
      },
    },
  },
});

const yoga = createYoga<{ userId?: string }>({ schema, logging: false, graphiql: false });
const server = createServer(yoga);
const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });

type EnvelopedRoot = {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
};

useServer<Record<string, unknown> | undefined, { userId?: string }>(
  {
    execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
    subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
    onConnect: async (ctx) => {
      const authorization = String(ctx.connectionParams?.authorization ?? '');
      try {
        const { payload } = await jwtVerify(authorization.replace(/^Bearer /, ''), secret, {
          algorithms: ['HS256'],
        });
        ctx.extra.userId = payload.sub;
        return true;
      } catch {
        return false;
      }
    },
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: { ...(await contextFactory()), userId: ctx.extra.userId },
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      if (errors.length > 0) return errors;
      return args;
    },
  },
  wsServer,
);

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
