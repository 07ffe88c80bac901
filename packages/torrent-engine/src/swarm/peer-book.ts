/**
 * The addresses a torrent knows about and when each may be dialled again. Pure bookkeeping (the
 * clock is passed in): sources add addresses, the dialler takes the ones due, failures push the
 * next attempt back exponentially, bans last for the session.
 */
import type { PeerAddress } from '../bitfield.js';

/** First retry after a failed dial or a dropped connection; doubles per consecutive failure. */
export const RETRY_BASE_MS = 5_000;
export const RETRY_MAX_MS = 10 * 60_000;
/** An address that failed this many times in a row is forgotten (a source may offer it again). */
export const MAX_FAILURES = 6;
/** Addresses kept per torrent: bounds memory whatever trackers, DHT and PEX send. */
export const MAX_ADDRESSES = 2_000;

interface Entry {
  addr: PeerAddress;
  source: string;
  failures: number;
  nextAttemptAt: number;
  connected: boolean;
  /** Was complete when we were: nothing to trade while we still are. */
  seed?: boolean;
}

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export class PeerBook {
  private readonly entries = new Map<string, Entry>();
  private readonly banned = new Set<string>();

  get size(): number {
    return this.entries.size;
  }

  /** Adds addresses (duplicates and banned ones ignored). Returns how many were new. */
  add(addrs: PeerAddress[], source: string, now: number): number {
    let added = 0;
    for (const addr of addrs) {
      if (!validAddress(addr)) continue;
      const key = addressKey(addr);
      if (this.banned.has(key) || this.entries.has(key)) continue;
      if (this.entries.size >= MAX_ADDRESSES) this.evictOne();
      if (this.entries.size >= MAX_ADDRESSES) break;
      this.entries.set(key, { addr, source, failures: 0, nextAttemptAt: now, connected: false });
      added++;
    }
    return added;
  }

  /**
   * Up to `n` addresses due for a dial, fewest failures first; they count as connected. With
   * `skipSeeds`, addresses marked as seeds (markSeed) are left out.
   */
  take(n: number, now: number, { skipSeeds = false } = {}): PeerAddress[] {
    const due: Entry[] = [];
    for (const e of this.entries.values()) {
      if (!e.connected && e.nextAttemptAt <= now && !(skipSeeds && e.seed)) due.push(e);
    }
    due.sort((a, b) => a.failures - b.failures || a.nextAttemptAt - b.nextAttemptAt);
    const out = due.slice(0, Math.max(0, n));
    for (const e of out) e.connected = true;
    return out.map((e) => e.addr);
  }

  /** A connection to `key` is up (dialled or incoming with a known listen port). */
  markConnected(addr: PeerAddress, now: number): void {
    const key = addressKey(addr);
    if (this.banned.has(key)) return;
    const e = this.entries.get(key);
    if (e) e.connected = true;
    else
      this.entries.set(key, { addr, source: 'incoming', failures: 0, nextAttemptAt: now, connected: true });
  }

  /** The dial failed or the connection ended. `ok` = it had been a useful connection (resets back-off). */
  markClosed(addr: PeerAddress, now: number, ok: boolean): void {
    const key = addressKey(addr);
    const e = this.entries.get(key);
    if (!e) return;
    e.connected = false;
    e.failures = ok ? 0 : e.failures + 1;
    if (e.failures >= MAX_FAILURES) {
      this.entries.delete(key);
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, e.failures - (ok ? 0 : 1)));
    e.nextAttemptAt = now + delay;
  }

  /** The peer at `addr` had every piece: a complete torrent need not dial it again. */
  markSeed(addr: PeerAddress): void {
    const e = this.entries.get(addressKey(addr));
    if (e) e.seed = true;
  }

  ban(addr: PeerAddress): void {
    const key = addressKey(addr);
    this.banned.add(key);
    this.entries.delete(key);
  }

  isBanned(addr: PeerAddress): boolean {
    return this.banned.has(addressKey(addr));
  }

  bannedCount(): number {
    return this.banned.size;
  }

  private evictOne(): void {
    let worst: [string, Entry] | undefined;
    for (const kv of this.entries) {
      if (kv[1].connected) continue;
      if (!worst || kv[1].failures > worst[1].failures) worst = kv;
    }
    if (worst) this.entries.delete(worst[0]);
  }
}

function validAddress(a: PeerAddress): boolean {
  return (
    typeof a.host === 'string' &&
    a.host.length > 0 &&
    a.host.length <= 64 &&
    Number.isInteger(a.port) &&
    a.port > 0 &&
    a.port < 65536
  );
}
