/**
 * A fixed-length set of piece indices in BitTorrent wire order (BEP 3: bit 0 is the high bit of
 * byte 0). The same bytes go into `bitfield` messages and resume files, so spare bits past `length`
 * are always zero: a peer that sets them is violating the protocol, and `fromBytes` refuses them.
 */
export class Bitfield {
  readonly length: number;
  private readonly bytes: Uint8Array;

  constructor(length: number, bytes?: Uint8Array) {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new RangeError(`bitfield length ${length} is not a non-negative integer`);
    this.length = length;
    const size = Bitfield.byteLength(length);
    this.bytes = new Uint8Array(size);
    if (bytes) {
      if (bytes.length !== size)
        throw new RangeError(`bitfield of ${length} bits needs ${size} bytes, got ${bytes.length}`);
      this.bytes.set(bytes);
      this.clearSpareBits();
    }
  }

  /** Bytes needed for `length` bits. */
  static byteLength(length: number): number {
    return Math.ceil(length / 8);
  }

  /** Strict decode (peer `bitfield` message, resume file): wrong size or spare bits set throw. */
  static fromBytes(length: number, bytes: Uint8Array): Bitfield {
    const size = Bitfield.byteLength(length);
    if (bytes.length !== size)
      throw new RangeError(`bitfield of ${length} bits needs ${size} bytes, got ${bytes.length}`);
    const spare = size * 8 - length;
    if (spare > 0 && ((bytes[size - 1] ?? 0) & ((1 << spare) - 1)) !== 0) {
      throw new RangeError(`bitfield of ${length} bits has spare bits set`);
    }
    return new Bitfield(length, bytes);
  }

  /** A bitfield with every bit set. */
  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    b.bytes.fill(0xff);
    b.clearSpareBits();
    return b;
  }

  get(i: number): boolean {
    if (!this.inRange(i)) return false;
    return ((this.bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number, v = true): void {
    if (!this.inRange(i)) throw new RangeError(`bit ${i} outside bitfield of length ${this.length}`);
    const mask = 0x80 >> (i & 7);
    const byte = this.bytes[i >> 3] ?? 0;
    this.bytes[i >> 3] = v ? byte | mask : byte & ~mask;
  }

  count(): number {
    let n = 0;
    for (const b of this.bytes) n += POPCOUNT[b] ?? 0;
    return n;
  }

  isComplete(): boolean {
    return this.count() === this.length;
  }

  isEmpty(): boolean {
    return this.bytes.every((b) => b === 0);
  }

  /** A copy of the bytes, spare bits zero. */
  toBytes(): Uint8Array {
    return this.bytes.slice();
  }

  clone(): Bitfield {
    return new Bitfield(this.length, this.bytes);
  }

  /** Set indices in ascending order. */
  *indices(): IterableIterator<number> {
    for (let i = 0; i < this.length; i++) if (this.get(i)) yield i;
  }

  private inRange(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.length;
  }

  private clearSpareBits(): void {
    const spare = this.bytes.length * 8 - this.length;
    if (spare > 0) {
      const last = this.bytes.length - 1;
      this.bytes[last] = (this.bytes[last] ?? 0) & ~((1 << spare) - 1) & 0xff;
    }
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/** A peer's address. @dream/dht re-exports its own identical shape. */
export interface PeerAddress {
  host: string;
  port: number;
}
