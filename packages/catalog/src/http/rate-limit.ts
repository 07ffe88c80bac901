/**
 * A token bucket per client address: `burst` requests at once, refilled at `perSecond`. Pure (the
 * caller passes the time). Memory is bounded: past `maxClients` addresses the least recently seen is
 * forgotten (which at worst gives that client a fresh bucket).
 */
export interface RateLimitOptions {
  burst: number;
  perSecond: number;
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxClients: number;

  constructor(private readonly opts: RateLimitOptions) {
    this.maxClients = opts.maxClients ?? 10_000;
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait before retrying. */
  take(client: string, nowMs: number): number {
    let b = this.buckets.get(client);
    if (b) {
      this.buckets.delete(client); // re-inserted below: Map order is then least-recently-seen first
      b.tokens = Math.min(this.opts.burst, b.tokens + ((nowMs - b.at) / 1000) * this.opts.perSecond);
      b.at = nowMs;
    } else {
      b = { tokens: this.opts.burst, at: nowMs };
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.opts.perSecond));
  }
}
