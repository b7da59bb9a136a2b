import '@notifications/react/theme.css';
import './page.css';
import { createSharedInbox } from '@notifications/client';
import { InboxProvider } from '@notifications/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
// Vite bundles the worker as its own file and gives its URL.
import inboxWorker from './inbox-worker.ts?worker&url';

// The few lines an app writes: one store for the page, handed to the components below.

const TOKEN_KEY = 'react-inbox.token';
const params = new URLSearchParams(location.search);

// The example's sign-in: ?token= once, kept for later visits and taken out of the address bar.
// A real app's getToken asks its identity provider for a token that is valid now.
const tokenInUrl = params.get('token');
if (tokenInUrl) {
  localStorage.setItem(TOKEN_KEY, tokenInUrl);
  params.delete('token');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

// One store, so one socket, for all the tabs of this browser (createInbox: one per tab); with
// ?worker=1 it runs in a SharedWorker, otherwise in the tab holding a Web Lock.
const inbox = createSharedInbox({
  url: params.get('server') ?? 'http://localhost:4000/graphql',
  getToken: () => localStorage.getItem(TOKEN_KEY) ?? '',
  sharedWorker: params.get('worker') === '1' ? inboxWorker : undefined,
});
// Counted for the browser tests, which check that a tab leaving brings no new snapshot.
inbox.on('snapshot', () => (window.inboxSnapshots = (window.inboxSnapshots ?? 0) + 1));

declare global {
  interface Window {
    inboxSnapshots?: number;
  }
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <InboxProvider inbox={inbox}>
      <App signIn={(token) => localStorage.setItem(TOKEN_KEY, token)} />
    </InboxProvider>
  </StrictMode>,
);
