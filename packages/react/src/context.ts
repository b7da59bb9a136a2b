import type { Inbox } from '@notifications/client';
import { createContext, createElement, useContext, type ReactNode } from 'react';

// The store the hooks below read: one per app, made with createInbox and handed down once.

const InboxContext = createContext<Inbox | null>(null);

export interface InboxProviderProps {
  /** A store from `createInbox`; the provider neither opens nor closes it. */
  inbox: Inbox;
  children?: ReactNode;
}

export function InboxProvider({ inbox, children }: InboxProviderProps) {
  return createElement(InboxContext.Provider, { value: inbox }, children);
}

/** The store itself, for its actions (markSeen, acknowledge, loadMore...). */
export function useInboxClient(): Inbox {
  const inbox = useContext(InboxContext);
  if (!inbox) throw new Error('@notifications/react: wrap your app in <InboxProvider inbox={...}>');
  return inbox;
}
