import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

// Webhook URLs are fetched by the service from inside its network: one that names (or resolves
// to) a private, loopback, link-local or otherwise non-public address would let a caller reach
// what only the service should (SSRF). ipaddr.js classifies; only its 'unicast' (global) range
// is public. IPv4-mapped IPv6 addresses are classified as the IPv4 address they carry.

/** Whether an IP address is on the public internet. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** Why this host's addresses may not be called, or undefined when every one is public. */
export async function refusedHost(hostname: string): Promise<string | undefined> {
  const host = hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookupAll(host)).map((entry) => entry.address);
    } catch {
      return `${host} does not resolve`;
    }
  }
  const refused = addresses.find((address) => !isPublicAddress(address));
  return refused && `${host} resolves to a non-public address (${refused})`;
}

function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    lookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );
}

/**
 * A `lookup` for http.request that refuses non-public addresses: the address checked is the one
 * connected to, so a name that resolves differently the second time (DNS rebinding) is caught.
 */
export const publicOnlyLookup: typeof lookup = ((
  hostname: string,
  options: object,
  callback: (
    error: NodeJS.ErrnoException | null,
    address: string | LookupAddress[],
    family?: number,
  ) => void,
) => {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      return callback(
        Object.assign(
          new Error(`${hostname} resolves to a non-public address (${refused.address})`),
          {
            code: 'EWEBHOOKPRIVATE',
          },
        ),
        '',
      );
    }
    if ((options as { all?: boolean }).all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}) as typeof lookup;
