import { subscriptionExchange, type Exchange } from '@urql/core';
import type { Client } from 'graphql-ws';
import { resumeFromLatestCursor } from './resume.js';

/**
 * urql's subscriptionExchange over a graphql-ws client, with `myNotifications` subscriptions
 * resumed from the latest cursor they received after a reconnect.
 */
export function notificationsExchange(client: Client): Exchange {
  const resuming = resumeFromLatestCursor(client);
  return subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => ({
        unsubscribe: resuming.subscribe({ ...request, query: request.query ?? '' }, sink),
      }),
    }),
  });
}
