/**
 * Rate limits as the engine applies them (docs/design/swarm.md#rate-limits): one pair of buckets
 * for the whole engine (torrent.upload_rate_limit / download_rate_limit) and one pair per torrent;
 * a byte passes only when both its torrent's bucket and the global one allow it.
 *
 * Upload: a piece message is sent only once tokens allow (the request's answer waits in a FIFO).
 * Download: a request is issued only once tokens allow; requests in flight are what the peer may
 * send, so pacing requests paces the payload received (a peer never sends what we did not ask).
 */
import { Throttle } from './throttle.js';
import { BucketChain, TokenBucket } from './token-bucket.js';

/** Bytes/s; 0 = unlimited. */
export interface RateLimits {
  upload: number;
  download: number;
}

export function checkLimits(v: Partial<RateLimits>): string | undefined {
  for (const k of ['upload', 'download'] as const) {
    const n = v[k];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1e12) {
      return `${k} is a whole number of bytes per second, 0 (unlimited) to 1e12`;
    }
  }
  return undefined;
}

export class GlobalLimits {
  readonly up: TokenBucket;
  readonly down: TokenBucket;
  private readonly listeners = new Set<() => void>();

  constructor(limits: RateLimits, now = Date.now()) {
    this.up = new TokenBucket(limits.upload, now);
    this.down = new TokenBucket(limits.download, now);
  }

  get(): RateLimits {
    return { upload: this.up.rate, download: this.down.rate };
  }

  set(limits: Partial<RateLimits>, now = Date.now()): RateLimits {
    if (limits.upload !== undefined) this.up.setRate(limits.upload, now);
    if (limits.download !== undefined) this.down.setRate(limits.download, now);
    for (const l of this.listeners) l();
    return this.get();
  }

  /** Called when a limit changes (torrents wake their queues). */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export class TorrentLimits {
  readonly up: TokenBucket;
  readonly down: TokenBucket;
  /**
   * This torrent's share of the engine's download budget (scheduler/budget.ts), set by the engine
   * every second while several torrents compete; rate 0 = no share imposed.
   */
  readonly share: TokenBucket;
  private readonly upChain: BucketChain;
  private readonly downChain: BucketChain;
  private readonly upload: Throttle;
  private wake: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    readonly global: GlobalLimits,
    limits: RateLimits = { upload: 0, download: 0 },
    /** Called when download tokens are back after a refusal (the torrent plans again). */
    private readonly onDownloadReady: () => void = () => {},
  ) {
    const now = Date.now();
    this.up = new TokenBucket(limits.upload, now);
    this.down = new TokenBucket(limits.download, now);
    this.upChain = new BucketChain([this.up, global.up]);
    this.share = new TokenBucket(0, now);
    this.downChain = new BucketChain([this.down, this.share, global.down]);
    this.upload = new Throttle(this.upChain);
    this.unsubscribe = global.onChange(() => this.changed());
  }

  get(): RateLimits {
    return { upload: this.up.rate, download: this.down.rate };
  }

  set(limits: Partial<RateLimits>): RateLimits {
    const now = Date.now();
    if (limits.upload !== undefined) this.up.setRate(limits.upload, now);
    if (limits.download !== undefined) this.down.setRate(limits.download, now);
    this.changed();
    return this.get();
  }

  /** The engine's share for this torrent, bytes/s; Infinity or 0 lifts it. */
  setShare(bytesPerSecond: number): void {
    const rate =
      Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? Math.max(1, Math.floor(bytesPerSecond)) : 0;
    if (rate === this.share.rate) return;
    const raised = this.share.rate !== 0 && (rate === 0 || rate > this.share.rate);
    this.share.setRate(rate, Date.now());
    // A bigger share may let a refused request through now.
    if (raised) this.changed();
  }

  private changed(): void {
    this.upload.kick();
    clearTimeout(this.wake);
    this.wake = undefined;
    this.onDownloadReady();
  }

  /** Sends an upload of `bytes` when the limits allow. */
  sendUpload(bytes: number, go: () => void): void {
    this.upload.schedule(bytes, go);
  }

  /**
   * May a request for `bytes` be issued now? When not, the torrent is called back (onDownloadReady)
   * once tokens are there again.
   */
  mayRequest(bytes: number): boolean {
    const now = Date.now();
    if (this.downChain.take(bytes, now)) return true;
    if (!this.wake) {
      this.wake = setTimeout(
        () => {
          this.wake = undefined;
          this.onDownloadReady();
        },
        Math.max(1, this.downChain.delay(now)),
      );
      this.wake.unref();
    }
    return false;
  }

  close(): void {
    this.unsubscribe();
    this.upload.clear();
    clearTimeout(this.wake);
    this.wake = undefined;
  }
}
