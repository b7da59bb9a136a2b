import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import type { Client } from 'graphql-ws';
import { resumeFromLatestCursor } from './resume.js';

/**
 * Apollo Client's GraphQLWsLink whose `myNotifications` subscriptions resume from the latest
 * cursor they received after a reconnect, so nothing arrives twice and nothing is missed.
 */
export class NotificationsWsLink extends GraphQLWsLink {
  constructor(client: Client) {
    super(resumeFromLatestCursor(client));
  }
}
