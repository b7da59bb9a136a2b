import {
  addMembers,
  membersPage,
  removeMembers,
  topicsPage,
  type MembersChange,
  type Page,
  type TopicSummary,
} from '../notifications/topics.js';
import { LIMITS } from '../notifications/validation.js';
import { builder } from './builder.js';
import { PageInfo } from './notification.js';
import { userOf } from './viewer-of.js';

// Topics: users join and leave them; services manage members and send to them
// (SendNotificationInput.topic). The domain is notifications/topics.ts.

const pageInfo = (page: Page<unknown>) => ({
  hasNextPage: page.hasNextPage,
  endCursor: page.endCursor,
});

const Topic = builder.objectRef<TopicSummary>('Topic').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    memberCount: t.exposeInt('memberCount', {
      nullable: true,
      description: 'How many users are in it; null when a user lists their own topics.',
    }),
  }),
});

const TopicPage = builder.objectRef<Page<TopicSummary>>('TopicPage').implement({
  fields: (t) => ({
    nodes: t.field({ type: [Topic], resolve: (page) => page.items }),
    pageInfo: t.field({ type: PageInfo, resolve: pageInfo }),
  }),
});

const TopicMemberPage = builder.objectRef<Page<string>>('TopicMemberPage').implement({
  fields: (t) => ({
    userIds: t.idList({ resolve: (page) => page.items }),
    pageInfo: t.field({ type: PageInfo, resolve: pageInfo }),
  }),
});

const TopicMembersChange = builder.objectRef<MembersChange>('TopicMembersChange').implement({
  fields: (t) => ({
    changed: t.exposeInt('changed', {
      description: 'Users actually added (or removed): those already in (or not in) do not count.',
    }),
    memberCount: t.exposeInt('memberCount', { description: 'Members of the topic now.' }),
  }),
});

const PAGE = `1-${LIMITS.topicPage}, ${LIMITS.topicPageDefault} when left out`;

builder.queryField('topics', (t) =>
  t.field({
    type: TopicPage,
    description: `A user's own topics, or (for a service) every topic with its member count; by name, ${PAGE} a page.`,
    authScopes: { user: true, service: true },
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: (_root, { first, after }, context) =>
      topicsPage(
        context.services.database,
        context.viewer.kind === 'service' ? undefined : userOf(context),
        first,
        after,
      ),
  }),
);

builder.queryField('topicMembers', (t) =>
  t.field({
    type: TopicMemberPage,
    description: `The user ids in a topic, in id order, ${PAGE} a page. Services and admins.`,
    authScopes: { service: true, admin: true },
    args: {
      topic: t.arg.string({ required: true }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, { topic, first, after }, { services }) =>
      membersPage(services.database, topic, first, after),
  }),
);

const MEMBERS_DOC = `1-${LIMITS.topicMembersPerCall} user ids (JWT \`sub\` values)`;

builder.mutationField('subscribeToTopic', (t) =>
  t.boolean({
    description:
      'Joins the signed-in user to a topic (1-255 characters): sends to it from now on reach them. False when they were in it already.',
    authScopes: { user: true },
    args: { topic: t.arg.string({ required: true }) },
    resolve: async (_root, { topic }, context) => {
      const { pool, config } = context.services;
      const change = await addMembers(pool, topic, [userOf(context)], config.TOPIC_MAX_MEMBERS);
      return change.changed > 0;
    },
  }),
);

builder.mutationField('unsubscribeFromTopic', (t) =>
  t.boolean({
    description:
      'Takes the signed-in user out of a topic; what was sent to it before stays in their inbox. False when they were not in it.',
    authScopes: { user: true },
    args: { topic: t.arg.string({ required: true }) },
    resolve: async (_root, { topic }, context) =>
      (await removeMembers(context.services.pool, topic, [userOf(context)])).changed > 0,
  }),
);

builder.mutationField('addTopicMembers', (t) =>
  t.field({
    type: TopicMembersChange,
    description: `Adds ${MEMBERS_DOC} to a topic, creating it. Refused whole (TOPIC_MEMBER_LIMIT) when it would pass TOPIC_MAX_MEMBERS. Services only.`,
    authScopes: { service: true },
    args: {
      topic: t.arg.string({ required: true }),
      userIds: t.arg.idList({ required: true }),
    },
    resolve: (_root, { topic, userIds }, { services }) =>
      addMembers(services.pool, topic, userIds.map(String), services.config.TOPIC_MAX_MEMBERS),
  }),
);

builder.mutationField('removeTopicMembers', (t) =>
  t.field({
    type: TopicMembersChange,
    description: `Takes ${MEMBERS_DOC} out of a topic; a topic left empty is gone. Services only.`,
    authScopes: { service: true },
    args: {
      topic: t.arg.string({ required: true }),
      userIds: t.arg.idList({ required: true }),
    },
    resolve: (_root, { topic, userIds }, { services }) =>
      removeMembers(services.pool, topic, userIds.map(String)),
  }),
);
