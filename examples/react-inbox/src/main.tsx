import '@notifications/react/theme.css';
import './page.css';
import { createSharedInbox } from '@notifications/client';
import { InboxProvider } from '@notifications/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';

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

// One store, so one socket, for all the tabs of this browser (createInbox: one per tab).
const inbox = createSharedInbox({
  url: params.get('server') ?? 'http://localhost:4000/graphql',
  getToken: () => localStorage.getItem(TOKEN_KEY) ?? '',
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <InboxProvider inbox={inbox}>
      <App signIn={(token) => localStorage.setItem(TOKEN_KEY, token)} />
    </InboxProvider>
  </StrictMode>,
);
