import './style.css';
import { openInbox } from './connection';
import { signedOutState, type Command, type Update } from './protocol';
import { InboxView } from './view';

// The page: reads where the service is and who the user is, opens a port to the hub, draws what
// the hub says and passes the user's actions back.

const TOKEN_KEY = 'inbox.token';
const CURSOR_KEY = 'inbox.cursor';

const params = new URLSearchParams(location.search);
const server = params.get('server') ?? 'http://localhost:4000/graphql';
// ?quickSnooze=<seconds> adds a snooze that short to the menu: for demos and tests.
const quickSnoozeSeconds = Number(params.get('quickSnooze')) || undefined;

// The example's sign-in: ?token= once, kept for later visits and taken out of the address bar,
// history and referrers. A real app passes the token it already has.
const tokenInUrl = params.get('token');
if (tokenInUrl) {
  localStorage.setItem(TOKEN_KEY, tokenInUrl);
  params.delete('token');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

async function main() {
  const port = await openInbox();
  const send = (command: Command) => port.postMessage(command);
  const view = new InboxView(
    document.body,
    {
      markSeen: (ids) => send({ type: 'markSeen', ids }),
      markAllSeen: () => send({ type: 'markAllSeen' }),
      acknowledge: (id) => send({ type: 'acknowledge', id }),
      archive: (ids) => send({ type: 'archive', ids }),
      archiveAll: (filter) => send({ type: 'archiveAll', filter }),
      markUnseen: (ids) => send({ type: 'markUnseen', ids }),
      snooze: (id, until) => send({ type: 'snooze', id, until }),
      signIn: (token) => {
        localStorage.setItem(TOKEN_KEY, token);
        start();
      },
    },
    { quickSnoozeSeconds },
  );
  port.onmessage = (event: MessageEvent<Update>) => {
    const update = event.data;
    if (update.type === 'toast') return view.notify(update.notification);
    if (update.type === 'received') {
      return void dispatchEvent(new CustomEvent('inbox:received', { detail: update.received }));
    }
    view.render(update.state);
    // Where this browser last stood in the stream (a SharedWorker cannot use localStorage). The
    // hub resumes reconnects from memory; a fresh start takes the snapshot's own cursor instead,
    // since replaying an older one over a newer snapshot would only repeat events.
    if (update.state.cursor) localStorage.setItem(CURSOR_KEY, update.state.cursor);
  };
  // Read each time: another tab may have signed in again since this one loaded.
  const start = () => {
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) send({ type: 'start', server, token });
    else view.render(signedOutState());
  };
  start();
  addEventListener('pagehide', () => send({ type: 'leave' }));
  addEventListener('pageshow', (event) => event.persisted && start());
}

void main();
