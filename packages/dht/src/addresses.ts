/**
 * Which IPv4 contacts a node will talk to. Remote nodes tell us about other nodes (compact `nodes`)
 * and peers (`values`); a hostile one can name 127.0.0.1:22 or a broadcast address and make us, or
 * the engine that connects to the peers we return, send packets there. libtorrent drops such
 * contacts too (its dht_ignore_dark_internet). Private ranges (10/8, 172.16/12, 192.168/16) stay
 * allowed: a private Dream network on a LAN uses them.
 *
 * Loopback is allowed only when this node is itself on loopback (tests, benchmarks, several
 * daemons on one machine bootstrapping from 127.0.0.1): then loopback contacts are the network.
 */

export function usableContact(host: string, port: number, allowLoopback: boolean): boolean {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false;
  const parts = host.split('.');
  if (parts.length !== 4) return false;
  const a = Number(parts[0]);
  if (a === 0) return false; // "this network"
  if (a >= 224) return false; // multicast, reserved, broadcast
  if (a === 127) return allowLoopback;
  return true;
}

/** Filters a compact node list (26 bytes per node: id, IPv4, port). Returns the input when nothing is removed. */
export function filterCompactNodes(buf: Buffer, allowLoopback: boolean): Buffer {
  const keep: Buffer[] = [];
  let removed = false;
  for (let i = 0; i + 26 <= buf.length; i += 26) {
    const host = `${buf[i + 20]}.${buf[i + 21]}.${buf[i + 22]}.${buf[i + 23]}`;
    if (usableContact(host, buf.readUInt16BE(i + 24), allowLoopback)) keep.push(buf.subarray(i, i + 26));
    else removed = true;
  }
  if (buf.length % 26 !== 0) removed = true; // a trailing partial entry is garbage
  return removed ? Buffer.concat(keep) : buf;
}

/** Filters compact peers (6 bytes: IPv4, port) in a get_peers reply's values. */
export function filterCompactPeers(values: Buffer[], allowLoopback: boolean): Buffer[] {
  return values.filter(
    (v) =>
      v.length === 6 && usableContact(`${v[0]}.${v[1]}.${v[2]}.${v[3]}`, v.readUInt16BE(4), allowLoopback),
  );
}
