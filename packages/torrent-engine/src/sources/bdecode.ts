/**
 * A small bencode decoder with hard limits, for bytes from the network (tracker responses, ut_pex
 * payloads). Why not `bencode.decode`: it has no size, depth or token limit and throws untyped
 * errors from deep recursion; libtorrent's bdecode caps depth and tokens for the same reason.
 * Byte strings come back as Uint8Array views (no copy), integers as safe-range numbers, dictionaries
 * as null-prototype objects (a key "__proto__" is just a key).
 */
import { SourceError } from './errors.js';

export type BValue = number | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue | undefined;
}

export interface BdecodeLimits {
  /** Refuse inputs longer than this. */
  maxBytes: number;
  /** Nesting of lists/dicts. Tracker responses need 3 (dict > list of peers > dict). */
  maxDepth: number;
  /** Total values decoded, so a 1 MiB input of `le` pairs cannot build a million objects. */
  maxTokens: number;
}

/** Defaults sized for tracker responses: 1 MiB holds ~170,000 compact peers, far beyond any numwant. */
export const DEFAULT_BDECODE_LIMITS: BdecodeLimits = { maxBytes: 1 << 20, maxDepth: 16, maxTokens: 200_000 };

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function bdecode(bytes: Uint8Array, limits: Partial<BdecodeLimits> = {}): BValue {
  const lim = { ...DEFAULT_BDECODE_LIMITS, ...limits };
  if (bytes.length > lim.maxBytes) {
    throw new SourceError(
      'BENCODE_INVALID',
      `bencode input of ${bytes.length} bytes exceeds ${lim.maxBytes}`,
    );
  }
  let pos = 0;
  let tokens = 0;
  const fail = (what: string): never => {
    throw new SourceError('BENCODE_INVALID', `invalid bencode at byte ${pos}: ${what}`);
  };

  // Reads digits up to `end` char; returns the number. Rejects leading zeros and "-0" as BEP 3 says.
  const readInt = (end: number): number => {
    const start = pos;
    let neg = false;
    if (bytes[pos] === 0x2d) {
      neg = true;
      pos++;
    }
    const digitsStart = pos;
    let value = 0;
    while (pos < bytes.length && bytes[pos] !== end) {
      const c = bytes[pos]!;
      if (c < 0x30 || c > 0x39) fail('expected a digit');
      value = value * 10 + (c - 0x30);
      if (value > Number.MAX_SAFE_INTEGER) fail('integer out of range');
      pos++;
    }
    if (pos >= bytes.length) fail('unterminated number');
    const ndigits = pos - digitsStart;
    if (ndigits === 0) fail('empty number');
    if (ndigits > 1 && bytes[digitsStart] === 0x30) fail('leading zero');
    if (neg && value === 0) fail('negative zero');
    if (pos - start > 20) fail('number too long');
    pos++; // the terminator
    return neg ? -value : value;
  };

  const readString = (): Uint8Array => {
    const len = readInt(0x3a /* : */);
    if (len > bytes.length - pos) fail(`string of ${len} bytes runs past the end`);
    const s = bytes.subarray(pos, pos + len);
    pos += len;
    return s;
  };

  const readValue = (depth: number): BValue => {
    if (++tokens > lim.maxTokens) fail(`more than ${lim.maxTokens} values`);
    if (pos >= bytes.length) fail('unexpected end');
    const c = bytes[pos]!;
    if (c === 0x69 /* i */) {
      pos++;
      return readInt(0x65 /* e */);
    }
    if (c >= 0x30 && c <= 0x39) return readString();
    if (c === 0x6c /* l */ || c === 0x64 /* d */) {
      if (depth >= lim.maxDepth) fail(`nesting deeper than ${lim.maxDepth}`);
      pos++;
      if (c === 0x6c) {
        const list: BValue[] = [];
        while (bytes[pos] !== 0x65) {
          if (pos >= bytes.length) fail('unterminated list');
          list.push(readValue(depth + 1));
        }
        pos++;
        return list;
      }
      const dict: BDict = Object.create(null);
      while (bytes[pos] !== 0x65) {
        if (pos >= bytes.length) fail('unterminated dictionary');
        const c2 = bytes[pos]!;
        if (c2 < 0x30 || c2 > 0x39) fail('dictionary key is not a string');
        const key = utf8.decode(readString());
        dict[key] = readValue(depth + 1);
      }
      pos++;
      return dict;
    }
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };

  const value = readValue(0);
  if (pos !== bytes.length) fail(`${bytes.length - pos} trailing bytes`);
  return value;
}

// Typed accessors: tracker fields are optional and untrusted, so each read checks the type.

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

export function getBytes(d: BDict, key: string): Uint8Array | undefined {
  const v = d[key];
  return v instanceof Uint8Array ? v : undefined;
}

export function getString(d: BDict, key: string): string | undefined {
  const v = getBytes(d, key);
  return v === undefined ? undefined : utf8.decode(v);
}

export function getInt(d: BDict, key: string): number | undefined {
  const v = d[key];
  return typeof v === 'number' ? v : undefined;
}
