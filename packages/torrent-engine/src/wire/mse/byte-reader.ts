/**
 * The bytes of a connection during the MSE handshake: what arrived, waited for by length or by a
 * pattern, with a bound on what a peer may make us hold before the handshake is done.
 */
export class HandshakeError extends Error {}

export class ByteReader {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  /** `maxBuffered`: more than this unread (a peer flooding us mid-handshake) fails the handshake. */
  constructor(private readonly maxBuffered: number) {}

  get length(): number {
    return this.buffer.length;
  }

  /** Appends a copy (socket read buffers are reused). */
  push(chunk: Uint8Array): void {
    if (this.failure) return;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > this.maxBuffered) {
      this.fail(
        new HandshakeError(`more than ${this.maxBuffered} bytes before the encryption handshake ended`),
      );
    }
    this.wake();
  }

  /** Every pending and later wait rejects with `err` (the socket closed, the time ran out). */
  fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  /** Resolves once `n` bytes are buffered. */
  async need(n: number): Promise<void> {
    while (this.buffer.length < n) await this.more();
  }

  take(n: number): Buffer {
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return Buffer.from(out);
  }

  /** Everything buffered, removed. */
  rest(): Buffer {
    return this.take(this.buffer.length);
  }

  /**
   * Waits for `pattern` to start within the first `within` bytes of what is buffered now and
   * arrives, drops everything before it and the pattern itself; fails when `within` + the
   * pattern's length bytes came without it.
   */
  async skipPast(pattern: Buffer, within: number, what: string): Promise<void> {
    for (;;) {
      const at = this.buffer.subarray(0, within + pattern.length).indexOf(pattern);
      if (at >= 0) {
        this.take(at + pattern.length);
        return;
      }
      if (this.buffer.length >= within + pattern.length) {
        throw new HandshakeError(`${what} not found in the first ${within + pattern.length} bytes`);
      }
      await this.more();
    }
  }

  private more(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = () => {
        this.waiter = undefined;
        if (this.failure) reject(this.failure);
        else resolve();
      };
    });
  }

  private wake(): void {
    this.waiter?.();
  }
}
