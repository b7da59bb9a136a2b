import './style.css';
import { createSharedInbox, type Inbox } from '../../../packages/client/src';
import { reportReceived } from './received';
import { SeenBatch } from './seen-batch';
import { InboxView, signedOut } from './view';
// Vite bundles the worker as its own module file and gives its URL.
import inboxWorker from './worker.ts?worker&url';

// The page: reads where the service is and who the user is, opens the store all tabs share (in a
// SharedWorker; without one, in the tab holding a Web Lock), draws its state and passes the
// user's actions to it.

const TOKEN_KEY = 'inbox.token';
const CURSOR_KEY = 'inbox.cursor';

const params = new URLSearchParams(location.search);
const server = params.get('server') ?? 'http://localhost:4000/graphql';
// ?quickSnooze=<seconds> adds a snooze that short to the menu: for demos and tests.
const quickSnoozeSeconds = Number(params.get('quickSnooze')) || undefined;

// The example's sign-in: ?token= once, kept for later visits and taken out of the address bar,
// history and referrers. A real app passes the token it already has.
const tokenInUrl = params.get('token');
// Someone else (or a new session) in this tab: the store the tabs share connects again with it.
const signedInAgain = tokenInUrl !== null && tokenInUrl !== localStorage.getItem(TOKEN_KEY);
if (tokenInUrl) {
  localStorage.setItem(TOKEN_KEY, tokenInUrl);
  params.delete('token');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

let inbox: Inbox | undefined;

/** Runs an action; the events that follow (SEEN, ARCHIVED, ...) bring the new state. */
function act(run: (inbox: Inbox) => Promise<unknown>): void {
  const acting = inbox;
  if (!acting || acting.getState().status === 'expired') return;
  // A refused token already shows as `expired`; anything else is the user's to know.
  run(acting).catch((error: Error) => {
    const state = acting.getState();
    if (state.status !== 'expired') view.render({ ...state, problem: error.message });
  });
}

const seen = new SeenBatch((ids) => act((inbox) => inbox.markSeen(ids)));
const view = new InboxView(
  document.body,
  {
    markSeen: (ids) => seen.add(ids),
    markAllSeen: () => act((inbox) => inbox.markAllSeen()),
    acknowledge: (id) => act((inbox) => inbox.acknowledge(id)),
    // The service refuses one that awaits an acknowledgement; the view offers none.
    archive: (ids) => act((inbox) => inbox.archive(ids)),
    archiveAll: (filter) => act((inbox) => inbox.archiveAll(filter)),
    markUnseen: (ids) => {
      seen.drop(ids);
      act((inbox) => inbox.markUnseen(ids));
    },
    snooze: (id, until) => act((inbox) => inbox.snooze(id, until)),
    signIn: (token) => {
      localStorage.setItem(TOKEN_KEY, token);
      // The shared store connects again and asks this tab, the one that acted, for the token.
      if (inbox) inbox.reconnect();
      else inbox = openInbox();
    },
  },
  { quickSnoozeSeconds },
);

function openInbox(): Inbox {
  const shared = createSharedInbox({
    url: server,
    // Read each time: another tab may have signed in again since this one loaded.
    getToken: () => localStorage.getItem(TOKEN_KEY) ?? Promise.reject(new Error('Signed out')),
    sharedWorker: inboxWorker,
  });
  shared.subscribe((state) => {
    view.render(state);
    // Where this browser last stood in the stream (a SharedWorker cannot use localStorage). The
    // store resumes reconnects from memory; a fresh start takes the snapshot's own cursor
    // instead, since replaying an older one over a newer snapshot would only repeat events.
    if (state.cursor) localStorage.setItem(CURSOR_KEY, state.cursor);
  });
  // New, or back from a snooze: each tab shows it by its importance (view.ts).
  shared.on('notification', (notification) => view.notify(notification));
  reportReceived(shared);
  view.render(shared.getState());
  return shared;
}

if (localStorage.getItem(TOKEN_KEY)) {
  inbox = openInbox();
  // The shared store may be running on the token before, for the user before.
  if (signedInAgain) inbox.reconnect();
} else view.render(signedOut);
