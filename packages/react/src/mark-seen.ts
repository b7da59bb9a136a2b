import type { Inbox } from '@notifications/client';
import { useEffect, useRef, type RefObject } from 'react';

// Marks a card seen once the user can see it: on screen in the open list. Cards come into view
// one by one as the list scrolls; they go to the service as one markSeen.

const BATCH_MS = 200;

export function useMarkSeenWhenShown(
  inbox: Inbox,
  list: RefObject<HTMLElement | null>,
  /** Changes when the list's cards do, so new ones are watched too. */
  cards: unknown,
): void {
  const queued = useRef(new Set<string>());
  useEffect(() => {
    const root = list.current;
    if (!root || typeof IntersectionObserver !== 'function') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const ids = [...queued.current];
      queued.current.clear();
      // A failure leaves them unseen, to be marked the next time they are shown.
      if (ids.length > 0) inbox.markSeen(ids).catch(() => {});
    };
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = (entry.target as HTMLElement).dataset.id;
          if (!entry.isIntersecting || !id) continue;
          queued.current.add(id);
          observer.unobserve(entry.target);
        }
        timer ??= setTimeout(flush, BATCH_MS);
      },
      { root, threshold: 0.5 },
    );
    for (const card of root.querySelectorAll('[data-unseen]')) observer.observe(card);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
      flush();
    };
  }, [inbox, list, cards]);
}
