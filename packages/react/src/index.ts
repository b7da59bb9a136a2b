export { InboxProvider, useInboxClient, type InboxProviderProps } from './context.js';
export {
  shallowEqual,
  useCategoryCounts,
  useInbox,
  useNotifications,
  usePreferences,
  useUnseenCount,
  type NotificationFilter,
  type Preferences,
} from './hooks.js';
export { Inbox, type InboxProps } from './inbox.js';
export { defaultStrings, type InboxStringChanges, type InboxStrings } from './strings.js';
