/**
 * Registered announces. bittorrent-dht announces once when asked and never again, while stored
 * peers expire on other nodes (ours after 30 min, libtorrent's similar), so an infohash we seed
 * would vanish from the DHT. The announcer keeps a registry and re-announces each entry every
 * `intervalMs` (15 min by default, libtorrent's dht_announce_interval) until it is unregistered.
 * A failed announce (no node reachable yet, e.g. the first node of a new network) is retried
 * after `retryMs` instead of waiting a whole interval.
 */

export interface AnnouncerOptions {
  intervalMs: number;
  retryMs: number;
  /** Performs one announce; rejects when it reached no node. */
  announce: (infohash: string, port: number) => Promise<void>;
  onError?: (infohash: string, err: Error) => void;
}

interface Entry {
  port: number;
  timer: NodeJS.Timeout | undefined;
  lastAnnounce: number | undefined;
  generation: number;
}

export class Announcer {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly opts: AnnouncerOptions) {}

  /** Registers (or re-registers with a new port) and announces now. */
  register(infohash: string, port: number): void {
    const old = this.entries.get(infohash);
    if (old?.timer) clearTimeout(old.timer);
    const entry: Entry = {
      port,
      timer: undefined,
      lastAnnounce: undefined,
      generation: (old?.generation ?? 0) + 1,
    };
    this.entries.set(infohash, entry);
    this.run(infohash, entry);
  }

  /** Returns false when it was not registered. */
  unregister(infohash: string): boolean {
    const e = this.entries.get(infohash);
    if (!e) return false;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(infohash);
    return true;
  }

  list(): Array<{ infohash: string; port: number; lastAnnounce: string | null }> {
    return [...this.entries].map(([infohash, e]) => ({
      infohash,
      port: e.port,
      lastAnnounce: e.lastAnnounce ? new Date(e.lastAnnounce).toISOString() : null,
    }));
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    this.entries.clear();
  }

  private run(infohash: string, entry: Entry): void {
    const current = () => !this.closed && this.entries.get(infohash)?.generation === entry.generation;
    this.opts.announce(infohash, entry.port).then(
      () => {
        if (!current()) return;
        entry.lastAnnounce = Date.now();
        this.schedule(infohash, entry, this.opts.intervalMs);
      },
      (err: Error) => {
        if (!current()) return;
        this.opts.onError?.(infohash, err);
        this.schedule(infohash, entry, Math.min(this.opts.retryMs, this.opts.intervalMs));
      },
    );
  }

  private schedule(infohash: string, entry: Entry, ms: number): void {
    entry.timer = setTimeout(() => this.run(infohash, entry), ms);
    entry.timer.unref();
  }
}
