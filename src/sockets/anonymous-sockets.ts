import { DomainError } from '../errors.js';

// Anonymous sockets (opened without credentials, as GraphiQL does) held per address on this
// instance, so one address cannot hold an unbounded number of them.

export interface AnonymousSockets {
  /** Takes a place for `address`; throws TOO_MANY_CONNECTIONS when it has none left. */
  admit(address: string): () => void;
}

export function createAnonymousSockets(maxPerAddress: number): AnonymousSockets {
  const held = new Map<string, number>();
  return {
    admit(address) {
      const count = held.get(address) ?? 0;
      if (count >= maxPerAddress) {
        throw new DomainError(
          'TOO_MANY_CONNECTIONS',
          `at most ${maxPerAddress} anonymous connections per address`,
        );
      }
      held.set(address, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (held.get(address) ?? 1) - 1;
        if (left === 0) held.delete(address);
        else held.set(address, left);
      };
    },
  };
}
