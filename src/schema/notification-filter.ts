import { DomainError } from '../errors.js';
import type { InboxFilter, NotificationStatus } from '../notifications/visibility.js';
import { builder } from './builder.js';
import { NotificationPriorityEnum } from './category.js';

const STATUSES = [
  'UNSEEN',
  'SEEN',
  'ARCHIVED',
  'SNOOZED',
  'ALL',
] as const satisfies readonly NotificationStatus[];

const NotificationStatusEnum = builder.enumType('NotificationStatus', {
  description:
    'UNSEEN: not seen, archived or snoozed. SEEN: seen, not archived or snoozed. SNOOZED: snoozed (not archived). ARCHIVED: archived. ALL: any.',
  values: STATUSES,
});

export const NotificationFilterInput = builder.inputType('NotificationFilter', {
  description:
    'Narrows to notifications of these categories, priorities and status; each left out matches all.',
  fields: (t) => ({
    categories: t.stringList({ required: false, description: 'At most 100.' }),
    priorities: t.field({ type: [NotificationPriorityEnum], required: false }),
    status: t.field({ type: NotificationStatusEnum, required: false }),
  }),
});

const MAX_CATEGORIES = 100;

type FilterArg =
  | {
      categories?: string[] | null;
      priorities?: InboxFilter['priorities'];
      status?: NotificationStatus | null;
    }
  | null
  | undefined;

/** The filter as the domain takes it; `kindOnly` refuses a status (where it cannot apply). */
export function filterOf(arg: FilterArg, { kindOnly = false } = {}): InboxFilter {
  if (!arg) return {};
  if ((arg.categories?.length ?? 0) > MAX_CATEGORIES) {
    throw new DomainError('BAD_USER_INPUT', `filter.categories: at most ${MAX_CATEGORIES}`);
  }
  if (kindOnly && arg.status && arg.status !== 'ALL') {
    throw new DomainError('BAD_USER_INPUT', 'filter.status: a subscription takes only ALL');
  }
  return { categories: arg.categories, priorities: arg.priorities, status: arg.status };
}
