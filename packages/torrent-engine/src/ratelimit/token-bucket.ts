/**
 * A token bucket, pure (time is passed in): the rate limits of docs/design/swarm.md#rate-limits.
 *
 * Tokens are bytes. They accrue at `rate` bytes/s up to `burst`. A take is allowed while the bucket
 * is not in debt, and may drive it negative: a 16 KiB block is never refused because the burst is
 * small, and the average rate is still exact (the debt is paid back before the next take). Rate 0
 * means unlimited: every take is allowed at once.
 */

/** Smallest burst: two blocks, so a slow limit still sends whole blocks back to back. */
export const MIN_BURST = 32 * 1024;
/** The burst is this many seconds of the rate (smoothness vs. how long an idle bucket lets rip). */
export const BURST_SECONDS = 0.25;

export class TokenBucket {
  private rate_: number;
  private burst: number;
  private tokens: number;
  private last: number;

  constructor(rate: number, now: number) {
    this.rate_ = 0;
    this.burst = MIN_BURST;
    this.tokens = MIN_BURST;
    this.last = now;
    this.setRate(rate, now);
  }

  get rate(): number {
    return this.rate_;
  }

  /** Changes the rate (0 = unlimited); tokens already earned are kept, capped by the new burst. */
  setRate(rate: number, now: number): void {
    if (!Number.isFinite(rate) || rate < 0)
      throw new RangeError(`rate ${rate} is not a number of bytes/s >= 0`);
    this.refill(now);
    this.rate_ = Math.floor(rate);
    this.burst = Math.max(MIN_BURST, Math.floor(this.rate_ * BURST_SECONDS));
    this.tokens = Math.min(this.tokens, this.burst);
  }

  private refill(now: number): void {
    const dt = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    if (this.rate_ > 0) this.tokens = Math.min(this.burst, this.tokens + dt * this.rate_);
  }

  /** Whether a take would be allowed now. */
  ready(now: number): boolean {
    if (this.rate_ === 0) return true;
    this.refill(now);
    return this.tokens >= 0;
  }

  /** Takes `n` bytes if allowed now (the bucket may go into debt); false leaves it untouched. */
  take(n: number, now: number): boolean {
    if (!this.ready(now)) return false;
    if (this.rate_ > 0) this.tokens -= n;
    return true;
  }

  /** Takes `n` bytes unconditionally (bytes already on their way, e.g. the other bucket allowed them). */
  charge(n: number, now: number): void {
    if (this.rate_ === 0) return;
    this.refill(now);
    this.tokens -= n;
  }

  /** Milliseconds until a take is allowed (0 = now). */
  delay(now: number): number {
    if (this.ready(now)) return 0;
    return Math.ceil((-this.tokens / this.rate_) * 1000) + 1;
  }
}

/**
 * Several buckets that must all agree (a torrent's own limit and the engine's global one): a take
 * is allowed only when every bucket is ready, and then charges all of them.
 */
export class BucketChain {
  constructor(private readonly buckets: TokenBucket[]) {}

  take(n: number, now: number): boolean {
    for (const b of this.buckets) if (!b.ready(now)) return false;
    for (const b of this.buckets) b.charge(n, now);
    return true;
  }

  delay(now: number): number {
    let d = 0;
    for (const b of this.buckets) d = Math.max(d, b.delay(now));
    return d;
  }

  /** Unlimited when every bucket is. */
  get unlimited(): boolean {
    return this.buckets.every((b) => b.rate === 0);
  }
}
