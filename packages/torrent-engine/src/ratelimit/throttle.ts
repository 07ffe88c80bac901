/**
 * The I/O half of the rate limits: a FIFO of payload sends waiting for tokens (the upload side),
 * woken by one timer. Pure accounting is TokenBucket's; this only decides when to call back.
 */
import type { BucketChain } from './token-bucket.js';

interface Waiting {
  bytes: number;
  go: () => void;
}

export class Throttle {
  private readonly queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly chain: BucketChain,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Runs `go` once `bytes` may pass (at once when nothing waits and tokens are there). */
  schedule(bytes: number, go: () => void): void {
    if (this.queue.length === 0 && this.chain.take(bytes, this.clock())) {
      go();
      return;
    }
    this.queue.push({ bytes, go });
    this.arm();
  }

  /** Sends waiting, in order, until the buckets run dry. */
  private drain(): void {
    this.timer = undefined;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (!head || !this.chain.take(head.bytes, this.clock())) break;
      this.queue.shift();
      head.go();
    }
    if (this.queue.length > 0) this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.drain(), Math.max(1, this.chain.delay(this.clock())));
    this.timer.unref();
  }

  /** A limit changed: re-evaluate now rather than at the old timer. */
  kick(): void {
    if (this.queue.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Drops everything waiting (the torrent stops); their callbacks are never called. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}
