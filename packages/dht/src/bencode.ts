/**
 * A sans-I/O bencode codec with hard limits, used at the UDP boundary before any packet reaches
 * k-rpc. libtorrent's bdecode caps depth and token count for the same reason: a 1,500-byte packet
 * of "llll..." must cost microseconds, not a stack overflow, and decoding never throws (a hostile
 * packet is a value, `{ ok: false }`, not an exception in the event loop).
 */

export type BValue = Buffer | number | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

export interface DecodeLimits {
  /** Nesting depth of lists and dicts. KRPC needs 3; BEP 44 values may nest a little more. */
  maxDepth: number;
  /** Values (strings, integers, lists, dicts) in one packet. */
  maxTokens: number;
}

export const KRPC_LIMITS: DecodeLimits = { maxDepth: 16, maxTokens: 2_000 };

export type DecodeResult = { ok: true; value: BValue } | { ok: false; reason: string };

class DecodeError extends Error {}

/** Decodes one bencoded value that must span the whole buffer. Never throws. */
export function bdecode(buf: Buffer, limits: DecodeLimits = KRPC_LIMITS): DecodeResult {
  let pos = 0;
  let tokens = 0;

  const fail = (why: string): never => {
    throw new DecodeError(`${why} at byte ${pos}`);
  };

  const readInt = (end: number): number => {
    const text = buf.toString('latin1', pos, end);
    // i-0e, leading zeros and empty integers are invalid bencode.
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail('bad integer');
    const n = Number(text);
    if (!Number.isSafeInteger(n)) fail('integer out of range');
    return n;
  };

  const value = (depth: number): BValue => {
    if (++tokens > limits.maxTokens) fail(`more than ${limits.maxTokens} values`);
    if (pos >= buf.length) fail('truncated');
    const c = buf[pos]!;
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65 /* e */, pos + 1);
      if (end < 0) fail('truncated integer');
      pos++;
      const n = readInt(end);
      pos = end + 1;
      return n;
    }
    if (c === 0x6c /* l */ || c === 0x64 /* d */) {
      if (depth >= limits.maxDepth) fail(`nested deeper than ${limits.maxDepth}`);
      pos++;
      if (c === 0x6c) {
        const list: BValue[] = [];
        while (true) {
          if (pos >= buf.length) fail('truncated list');
          if (buf[pos] === 0x65) break;
          list.push(value(depth + 1));
        }
        pos++;
        return list;
      }
      // Null prototype: a key named "__proto__" must stay an ordinary key.
      const dict: BDict = Object.create(null);
      while (true) {
        if (pos >= buf.length) fail('truncated dict');
        if (buf[pos] === 0x65) break;
        const key = string().toString('latin1');
        // Unsorted keys are tolerated (some clients send them); a duplicate is ambiguous, so refused.
        if (Object.hasOwn(dict, key)) fail('duplicate dict key');
        dict[key] = value(depth + 1);
      }
      pos++;
      return dict;
    }
    if (c >= 0x30 && c <= 0x39) return string();
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };

  const string = (): Buffer => {
    const colon = buf.indexOf(0x3a /* : */, pos);
    // A length prefix longer than 7 digits cannot describe a UDP payload; check before parsing.
    if (colon < 0 || colon - pos > 7 || colon === pos) fail('bad string length');
    const text = buf.toString('latin1', pos, colon);
    if (!/^(0|[1-9][0-9]*)$/.test(text)) fail('bad string length');
    const len = Number(text);
    const start = colon + 1;
    if (start + len > buf.length) fail('truncated string');
    pos = start + len;
    return buf.subarray(start, start + len);
  };

  try {
    const v = value(0);
    if (pos !== buf.length) return { ok: false, reason: `trailing bytes after value at byte ${pos}` };
    return { ok: true, value: v };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, reason: err.message };
    return { ok: false, reason: `undecodable: ${(err as Error).message}` };
  }
}

/** Encodes strings, buffers, integers, lists and dicts (keys sorted, as bencode requires). */
export function bencode(v: unknown): Buffer {
  const parts: Buffer[] = [];
  const enc = (x: unknown): void => {
    if (Buffer.isBuffer(x) || x instanceof Uint8Array) {
      parts.push(Buffer.from(`${x.length}:`), Buffer.from(x));
    } else if (typeof x === 'string') {
      const b = Buffer.from(x);
      parts.push(Buffer.from(`${b.length}:`), b);
    } else if (typeof x === 'number') {
      if (!Number.isSafeInteger(x)) throw new TypeError(`bencode: ${x} is not an integer`);
      parts.push(Buffer.from(`i${x}e`));
    } else if (Array.isArray(x)) {
      parts.push(Buffer.from('l'));
      for (const e of x) enc(e);
      parts.push(Buffer.from('e'));
    } else if (x !== null && typeof x === 'object') {
      parts.push(Buffer.from('d'));
      const entries = Object.entries(x as Record<string, unknown>).filter(([, e]) => e !== undefined);
      entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const [k, e] of entries) {
        enc(k);
        enc(e);
      }
      parts.push(Buffer.from('e'));
    } else {
      throw new TypeError(`bencode: cannot encode ${typeof x}`);
    }
  };
  enc(v);
  return Buffer.concat(parts);
}
