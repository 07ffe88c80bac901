// Bytes sitting in the kernel's queues of loopback TCP connections, from /proc/net/tcp: what one
// side has written and the other has not read yet. The streaming tests and the bench use it to tell
// readahead (bytes the engine fetched beyond its reader) from bytes in transit to the player.
import { readFileSync } from 'node:fs';

/**
 * tx_queue + rx_queue of the IPv4 TCP sockets with one end on `port` (and, when given, the other on
 * `peerPort`), both directions. 0 where /proc/net/tcp cannot be read (not Linux).
 */
export function kernelQueuedBytes(port: number, peerPort?: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return 0;
  }
  let total = 0;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const local = Number.parseInt(cols[1]?.split(':')[1] ?? '', 16);
    const remote = Number.parseInt(cols[2]?.split(':')[1] ?? '', 16);
    const mine = local === port ? remote : remote === port ? local : undefined;
    if (mine === undefined || (peerPort !== undefined && mine !== peerPort)) continue;
    const [tx, rx] = (cols[4] ?? '0:0').split(':').map((h) => Number.parseInt(h, 16));
    total += (tx ?? 0) + (rx ?? 0);
  }
  return total;
}
