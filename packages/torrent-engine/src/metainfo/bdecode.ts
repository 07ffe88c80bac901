/**
 * A small sans-I/O bencode decoder with hard limits (STYLE.md #4, after libtorrent's bdecode).
 *
 * Why not bencode@4: it has no size, depth or token limits, recurses without bound, throws plain
 * Errors, and cannot tell us where a value sits in the input. The v1 infohash is the SHA-1 of the
 * info dictionary's bytes exactly as they appear in the file, so every dictionary here records its
 * [start, end) span and callers slice the original bytes instead of re-encoding (re-encoding would
 * silently change the hash of a torrent with unsorted keys or non-canonical input).
 */
import { MetainfoError } from './errors.js';

export type BValue = Uint8Array | number | bigint | BValue[] | BDict;

const NO_ENTRIES: ReadonlyMap<string, BValue> = new Map();

export class BDict {
  private entries: Map<string, BValue> | undefined; // created on the first key: empty dicts stay small
  constructor(
    readonly start: number,
    public end: number,
  ) {}
  /** Keys are the raw key bytes as latin1 strings, so non-UTF-8 keys stay distinct. */
  get map(): ReadonlyMap<string, BValue> {
    return this.entries ?? NO_ENTRIES;
  }
  get(key: string): BValue | undefined {
    return this.entries?.get(key);
  }
  has(key: string): boolean {
    return this.entries?.has(key) ?? false;
  }
  set(key: string, value: BValue): void {
    this.entries ??= new Map();
    this.entries.set(key, value);
  }
}

/** Every empty string decodes to this one (frozen) instance: "0:" bombs cost no memory. */
const EMPTY: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

export interface BdecodeLimits {
  /** Input bytes. A .torrent of 10 MiB already describes ~500,000 pieces. */
  maxBytes: number;
  /** Nesting depth; libtorrent uses 100. A real .torrent nests 5 or 6 deep (v2 file trees more). */
  maxDepth: number;
  /**
   * Values decoded (keys included). Bounds the work and memory of a hostile file: each value costs
   * ~50-200 bytes of heap, so 1,000,000 keeps a worst case near 100-150 MiB. A real torrent uses
   * about 8 per file (100,000 files: 800,000).
   */
  maxTokens: number;
}

export const DEFAULT_LIMITS: BdecodeLimits = {
  maxBytes: 10 * 1024 * 1024,
  maxDepth: 100,
  maxTokens: 1_000_000,
};

const C_0 = 0x30;
const C_9 = 0x39;
const C_COLON = 0x3a;
const C_D = 0x64;
const C_E = 0x65;
const C_I = 0x69;
const C_L = 0x6c;
const C_MINUS = 0x2d;

/** Decode exactly one value; trailing bytes other than ASCII whitespace are an error. */
export function bdecode(input: Uint8Array, limits: BdecodeLimits = DEFAULT_LIMITS): BValue {
  if (input.length > limits.maxBytes) {
    throw new MetainfoError(
      'BENCODE_TOO_LARGE',
      `input is ${input.length} bytes, more than the ${limits.maxBytes}-byte limit`,
    );
  }
  const d = new Decoder(input, limits);
  const value = d.value(0);
  for (let i = d.pos; i < input.length; i++) {
    const c = input[i];
    if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) {
      throw new MetainfoError('BENCODE_TRAILING_DATA', `unexpected data after the end at byte ${d.pos}`);
    }
  }
  return value;
}

class Decoder {
  pos = 0;
  private tokens = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly limits: BdecodeLimits,
  ) {}

  private fail(what: string): never {
    throw new MetainfoError('BENCODE_INVALID', `invalid bencode at byte ${this.pos}: ${what}`);
  }

  private peek(): number {
    const c = this.buf[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    return c;
  }

  value(depth: number): BValue {
    if (++this.tokens > this.limits.maxTokens) {
      throw new MetainfoError('BENCODE_TOO_MANY_TOKENS', `more than ${this.limits.maxTokens} values`);
    }
    const c = this.peek();
    if (c === C_I) return this.integer();
    if (c >= C_0 && c <= C_9) return this.string();
    if (c !== C_L && c !== C_D) this.fail(`unexpected byte 0x${c.toString(16)}`);
    if (depth >= this.limits.maxDepth) {
      throw new MetainfoError('BENCODE_TOO_DEEP', `nesting deeper than ${this.limits.maxDepth} levels`);
    }
    return c === C_L ? this.list(depth + 1) : this.dict(depth + 1);
  }

  private integer(): number | bigint {
    this.pos++; // 'i'
    const start = this.pos;
    if (this.peek() === C_MINUS) this.pos++;
    const digitsStart = this.pos;
    while (this.peek() !== C_E) {
      const c = this.peek();
      if (c < C_0 || c > C_9) this.fail('non-digit in integer');
      // 20 digits exceed any 64-bit integer: refuse before building a huge string.
      if (this.pos - digitsStart >= 20) this.fail('integer too long');
      this.pos++;
    }
    const digits = this.pos - digitsStart;
    if (digits === 0) this.fail('empty integer');
    if (this.buf[digitsStart] === C_0 && (digits > 1 || digitsStart !== start)) {
      this.fail('leading zero or negative zero in integer');
    }
    const text = latin1(this.buf, start, this.pos);
    this.pos++; // 'e'
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }

  private string(): Uint8Array {
    const start = this.pos;
    while (this.peek() !== C_COLON) {
      const c = this.peek();
      if (c < C_0 || c > C_9) this.fail('non-digit in string length');
      if (this.pos - start >= 10) this.fail('string length too long');
      this.pos++;
    }
    if (this.pos === start) this.fail('empty string length');
    if (this.buf[start] === C_0 && this.pos - start > 1) this.fail('leading zero in string length');
    const len = Number(latin1(this.buf, start, this.pos));
    this.pos++; // ':'
    if (len > this.buf.length - this.pos) this.fail(`string of ${len} bytes runs past the end`);
    if (len === 0) return EMPTY;
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  private list(depth: number): BValue[] {
    this.pos++; // 'l'
    const out: BValue[] = [];
    while (this.peek() !== C_E) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    const d = new BDict(this.pos, 0);
    this.pos++; // 'd'
    while (this.peek() !== C_E) {
      const c = this.peek();
      if (c < C_0 || c > C_9) this.fail('dictionary key is not a string');
      if (++this.tokens > this.limits.maxTokens) {
        throw new MetainfoError('BENCODE_TOO_MANY_TOKENS', `more than ${this.limits.maxTokens} values`);
      }
      const keyBytes = this.string();
      const key = latin1(keyBytes, 0, keyBytes.length);
      // Duplicate keys make a file mean different things to different clients: refuse. Unsorted
      // keys are tolerated (old creators wrote them) because the infohash uses the raw bytes anyway.
      if (d.has(key)) this.fail(`duplicate dictionary key "${printable(key)}"`);
      d.set(key, this.value(depth));
    }
    this.pos++;
    d.end = this.pos;
    return d;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i] ?? 0);
  return s;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}

/** Minimal canonical encoder (sorted keys) for the values we build ourselves (createTorrent). */
export type BEncodable =
  | Uint8Array
  | string
  | number
  | BEncodable[]
  /** A dictionary with binary keys (BEP 52's `piece layers` is keyed by 32-byte roots). */
  | Map<Uint8Array, BEncodable>
  | { [key: string]: BEncodable | undefined };

export function bencode(value: BEncodable): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const ascii = (s: string) => parts.push(enc.encode(s));
  const walk = (v: BEncodable): void => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`cannot bencode ${v}`);
      ascii(`i${v}e`);
    } else if (typeof v === 'string') {
      const b = enc.encode(v);
      ascii(`${b.length}:`);
      parts.push(b);
    } else if (v instanceof Uint8Array) {
      ascii(`${v.length}:`);
      parts.push(v);
    } else if (Array.isArray(v)) {
      ascii('l');
      for (const x of v) walk(x);
      ascii('e');
    } else if (v instanceof Map) {
      ascii('d');
      for (const [k, x] of [...v].sort(([a], [b]) => Buffer.compare(a, b))) {
        walk(k);
        walk(x);
      }
      ascii('e');
    } else {
      ascii('d');
      // BEP 3: keys sorted as raw byte strings.
      const keys = Object.keys(v)
        .filter((k) => v[k] !== undefined)
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const k of keys) {
        walk(k);
        walk(v[k] as BEncodable);
      }
      ascii('e');
    }
  };
  walk(value);
  return Buffer.concat(parts);
}
