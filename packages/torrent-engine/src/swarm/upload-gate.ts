/**
 * Answers one peer's requests no faster than its connection takes the bytes: at most
 * UPLOAD_QUEUE_BYTES answered (or being read for it) and not yet handed to the kernel. The rest of
 * its requests wait here as a few numbers, not as blocks in memory.
 *
 * Why: bittorrent-protocol queues every answer in the wire until the socket takes it, and a peer
 * may have MAX_PEER_REQUESTS (500) requests of up to 128 KiB queued at us. Answered at once, a peer
 * that asks a lot and reads slowly (or not at all) pinned 62.5 MiB (upload-gate.test.ts: 6.0 MiB
 * now, loopback's kernel buffers included); a fast libtorrent leecher kept enough queued that
 * evicted 1 MiB pieces stayed alive behind its blocks (with buffer reuse alone, peak
 * `arrayBuffers` 22-27 MiB against an 8 MiB cache; 10 MiB with the gate).
 */

/** Per connection: enough to keep a fast link busy while the next pieces are read (page cache: ~1 ms). */
export const UPLOAD_QUEUE_BYTES = 2 * 1024 * 1024;

interface Waiting {
  bytes: number;
  serve: (done: () => void) => void;
  wanted: (() => boolean) | undefined;
  /** Still in its own submit call: just asked for, so still wanted (the check costs a scan). */
  fresh: boolean;
}

export class UploadGate {
  private readonly waiting: Waiting[] = [];
  private head = 0;
  /** Bytes of answers being read (not yet in the wire). */
  private reading = 0;
  private closed = false;

  /**
   * `queued`: bytes the connection holds and the kernel does not have yet (the wire's outgoing
   * buffer and the socket's). Call `drained` when the socket drains.
   */
  constructor(
    private readonly queued: () => number,
    private readonly limit = UPLOAD_QUEUE_BYTES,
  ) {}

  /**
   * Runs `serve` now if the queue has room, otherwise once it has; `serve` calls `done` once its
   * answer is in the wire (or failed). `wanted`, asked when its turn comes after a wait: false
   * (the peer cancelled, or a choke discarded the request) skips it, nothing read.
   */
  submit(bytes: number, serve: (done: () => void) => void, wanted?: () => boolean): void {
    if (this.closed) return;
    const entry: Waiting = { bytes, serve, wanted, fresh: true };
    this.waiting.push(entry);
    this.drained();
    entry.fresh = false;
  }

  /** The socket took bytes (or an answer was handed over): serve what fits now. */
  drained(): void {
    while (!this.closed && this.head < this.waiting.length) {
      const next = this.waiting[this.head] as Waiting;
      if (!next.fresh && next.wanted && !next.wanted()) {
        this.advance();
        continue;
      }
      const inFlight = this.queued() + this.reading;
      // An empty connection always takes one answer, whatever its size: no request waits forever.
      if (inFlight > 0 && inFlight + next.bytes > this.limit) return;
      this.advance();
      this.reading += next.bytes;
      let finished = false;
      next.serve(() => {
        if (finished) return;
        finished = true;
        this.reading -= next.bytes;
        this.drained();
      });
    }
  }

  /** Past the head of the queue; the served part is cut off now and then, not per item. */
  private advance(): void {
    this.head++;
    if (this.head > 64 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Requests waiting for room. */
  get waitingCount(): number {
    return this.waiting.length - this.head;
  }

  /** The connection is gone: waiting requests are dropped. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.head = 0;
  }
}
