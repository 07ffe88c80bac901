/**
 * Turns network.bootstrap_nodes ("host:port" strings) into addresses. A name resolves to ALL its
 * IPv4 addresses (dns.lookup with all: true) and each becomes a bootstrap contact: a DHT router
 * behind round-robin DNS is several machines, and the one getaddrinfo lists first may be down.
 * A name that does not resolve is reported, not fatal: other entries (or the saved table) may do.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { parseHostPort } from '@dream/config';

export interface Contact {
  host: string;
  port: number;
}

export interface ResolvedBootstrap {
  contacts: Contact[];
  failures: Array<{ entry: string; reason: string }>;
}

type Lookup = (host: string) => Promise<string[]>;

const dnsLookupAll: Lookup = async (host) =>
  (await lookup(host, { all: true, family: 4 })).map((a) => a.address);

export async function resolveBootstrap(
  entries: string[],
  lookupAll: Lookup = dnsLookupAll,
): Promise<ResolvedBootstrap> {
  const contacts: Contact[] = [];
  const failures: ResolvedBootstrap['failures'] = [];
  const seen = new Set<string>();
  await Promise.all(
    entries.map(async (entry) => {
      const hp = parseHostPort(entry);
      if (!hp) return failures.push({ entry, reason: 'not host:port' });
      let addrs: string[];
      try {
        addrs = isIPv4(hp.host) ? [hp.host] : (await lookupAll(hp.host)).filter((a) => isIPv4(a));
      } catch (err) {
        return failures.push({ entry, reason: (err as Error).message });
      }
      if (!addrs.length) return failures.push({ entry, reason: 'no IPv4 address (the DHT here is IPv4)' });
      for (const host of addrs) {
        const key = `${host}:${hp.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        contacts.push({ host, port: hp.port });
      }
    }),
  );
  return { contacts, failures };
}
