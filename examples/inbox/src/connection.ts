// A MessagePort to the inbox hub. Where SharedWorker exists (desktop browsers) the hub runs in it
// and all tabs share it; elsewhere (e.g. Chrome on Android) the same hub runs in this tab behind
// a MessageChannel, so the page talks to it the same way either way.

export async function openInbox(): Promise<MessagePort> {
  if (typeof SharedWorker === 'function') {
    const worker = new SharedWorker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'inbox',
    });
    return worker.port;
  }
  const { InboxHub } = await import('./hub');
  const channel = new MessageChannel();
  new InboxHub().connect(channel.port1);
  return channel.port2;
}
