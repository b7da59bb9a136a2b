import {
  Inbox,
  useInbox,
  useInboxClient,
  useNotifications,
  usePreferences,
  useUnseenCount,
} from '@notifications/react';
import { useEffect, useState } from 'react';

// An app's page: a header with the <Inbox /> bell, a banner of what must be acknowledged, and the
// user's category preferences, each drawn from a hook.

export function App({ signIn }: { signIn: (token: string) => void }) {
  const status = useInbox((state) => state.status);
  useTitleCount('Acme');
  // The page says where it stands, for people and for the browser test.
  useEffect(() => void (document.body.dataset.status = status), [status]);
  return (
    <>
      <header className="app-header">
        <strong>Acme</strong>
        <Inbox strings={{ title: 'Your notifications', empty: 'Nothing new.' }} />
      </header>
      <main>
        {status === 'expired' && <SignIn signIn={signIn} />}
        <MustAcknowledge />
        <PreferencesForm />
      </main>
    </>
  );
}

/** "(3) Acme" while there are unseen notifications. */
function useTitleCount(title: string) {
  const unseen = useUnseenCount();
  useEffect(
    () => void (document.title = unseen > 0 ? `(${unseen}) ${title}` : title),
    [unseen, title],
  );
}

function MustAcknowledge() {
  const inbox = useInboxClient();
  const waiting = useNotifications({ needsAck: true });
  if (waiting.length === 0) return null;
  return (
    <section className="must-ack" aria-label="Needs your attention">
      {waiting.map((n) => (
        <p key={n.id}>
          <strong>{n.title}</strong> {n.body}{' '}
          <button type="button" onClick={() => void inbox.acknowledge(n.id)}>
            Acknowledge
          </button>
        </p>
      ))}
    </section>
  );
}

function PreferencesForm() {
  const { preferences, setMuted, problem } = usePreferences();
  return (
    <section className="preferences">
      <h2>Notify me about</h2>
      {problem && <p role="alert">{problem}</p>}
      {preferences === null ? (
        <p>Loading…</p>
      ) : (
        preferences.map(({ category, muted, canMute }) => (
          <label key={category}>
            <input
              type="checkbox"
              name={category}
              checked={!muted}
              disabled={!canMute}
              onChange={(event) => void setMuted(category, !event.target.checked).catch(() => {})}
            />
            {category}
            {!canMute && ' (always on)'}
          </label>
        ))
      )}
    </section>
  );
}

function SignIn({ signIn }: { signIn: (token: string) => void }) {
  const inbox = useInboxClient();
  const [token, setToken] = useState('');
  return (
    <form
      className="sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        signIn(token.trim());
        inbox.reconnect();
      }}
    >
      <p>Your session has expired. Paste a new token:</p>
      <textarea value={token} onChange={(event) => setToken(event.target.value)} rows={3} />
      <button type="submit">Sign in</button>
    </form>
  );
}
