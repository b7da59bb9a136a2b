import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './category.js';
import './delivery-status.js';
import './edit.js';
import './inbox.js';
import './notification.js';
import './notification-event.js';
import './preference.js';
import './scheduled.js';
import './send.js';
import './support.js';
import './template.js';
import './topic.js';
import './viewer.js';
import './webhook.js';

export const schema = builder.toSchema();

/** The SDL committed as schema.graphql: sorted, so it diffs only when the API changes. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
