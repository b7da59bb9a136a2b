/**
 * `source`, until `ending` resolves: then the value it resolves with is delivered as the last
 * one, `source` is returned (it stops its work) and the iteration is done. Over SSE that is a
 * final `next` event and `complete`, and Yoga ends the response.
 */
export function endingWith<T>(
  source: AsyncIterator<T>,
  ending: Promise<T>,
): AsyncIterableIterator<T> {
  let done = false;
  const finish = async (): Promise<IteratorResult<T>> => {
    done = true;
    await source.return?.();
    return { done: true, value: undefined };
  };
  // Tagged, so the race below knows which side won.
  const last = ending.then((value) => ({ last: value }));
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (done) return { done: true, value: undefined };
      // `last` first: once the credentials have ended, nothing more from the source goes out.
      const next = await Promise.race([last, source.next()]);
      if ('last' in next) {
        await finish();
        return { done: false, value: next.last };
      }
      if (next.done) done = true;
      return next;
    },
    return: finish,
  };
}
