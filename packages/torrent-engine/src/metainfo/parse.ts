/**
 * .torrent and info-dictionary parsing with validation. parse-torrent@11 is not used on this path:
 * it sanitises little (it joins raw path elements, '..' included), accepts inconsistent lengths,
 * and re-encodes the info dict to hash it. Here every field is type-checked, the lengths must agree,
 * paths are sanitised, and the infohash is the hash of the exact bytes in the file.
 */
import { createHash } from 'node:crypto';
import { BDict, type BValue, bdecode } from './bdecode.js';
import { MetainfoError } from './errors.js';
import { decodeName, isValidUtf8, PathDeduper, sanitizeElement, sanitizePath } from './sanitize.js';
import type { TorrentFile, TorrentMeta } from './types.js';
import { attachV2 } from './v2-files.js';

/**
 * Piece length bounds. Powers of two only (BEP 52 requires it, every creator we know writes one).
 * 16 KiB is the wire block size, below which requests stop making sense; above 64 MiB one piece
 * would be a large buffer to hold and verify at once (we hold a whole piece before hashing it).
 */
export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
/** 2^50 bytes (1 PiB): far beyond any real torrent, and every offset stays an exact double. */
export const MAX_TOTAL_LENGTH = 2 ** 50;
/** A 10 MiB .torrent holds at most ~520,000 piece hashes anyway; this makes the bound explicit. */
export const MAX_PIECES = 1 << 20;
/**
 * More files than any video release; each costs a dictionary, a path and a TorrentFile (a 100,000
 * file torrent parses in about a second to ~100 MiB of heap).
 */
export const MAX_FILES = 100_000;

export function parseTorrent(bytes: Uint8Array): TorrentMeta {
  const top = bdecode(bytes);
  if (!(top instanceof BDict)) throw field('the .torrent', 'a dictionary');
  const info = top.get('info');
  if (!(info instanceof BDict)) throw field('info', 'a dictionary');
  const infoBytes = bytes.subarray(info.start, info.end);
  const meta = buildMeta(info, infoBytes, top.get('piece layers'));
  meta.trackers = trackerTiers(top);
  meta.torrent = bytes;
  return meta;
}

export function parseInfo(infoBytes: Uint8Array, expectedInfohash?: string): TorrentMeta {
  if (expectedInfohash !== undefined) {
    const got = sha1hex(infoBytes);
    if (got !== expectedInfohash.toLowerCase()) {
      throw new MetainfoError(
        'INFOHASH_MISMATCH',
        `info dictionary hashes to ${got}, expected ${expectedInfohash.toLowerCase()}`,
      );
    }
  }
  const info = bdecode(infoBytes);
  if (!(info instanceof BDict)) throw field('info', 'a dictionary');
  return buildMeta(info, infoBytes.subarray(info.start, info.end));
}

function buildMeta(info: BDict, infoBytes: Uint8Array, pieceLayers?: BValue): TorrentMeta {
  const infohash = sha1hex(infoBytes);
  const metaVersion = info.get('meta version');
  const pieces = info.get('pieces');
  if (metaVersion === 2 && pieces === undefined) {
    throw new MetainfoError(
      'V2_ONLY',
      'this is a BitTorrent v2-only torrent (no v1 piece hashes); only v1 and hybrid v1+v2 torrents are supported',
    );
  }
  const infohashV2 =
    metaVersion === 2 && info.get('file tree') instanceof BDict
      ? createHash('sha256').update(infoBytes).digest('hex')
      : undefined;

  const pieceLength = info.get('piece length');
  if (typeof pieceLength !== 'number') throw field('info.piece length', 'an integer');
  if (
    pieceLength < MIN_PIECE_LENGTH ||
    pieceLength > MAX_PIECE_LENGTH ||
    (pieceLength & (pieceLength - 1)) !== 0
  ) {
    throw new MetainfoError(
      'BAD_PIECE_LENGTH',
      `piece length ${pieceLength} is not a power of two between ${MIN_PIECE_LENGTH} and ${MAX_PIECE_LENGTH}`,
    );
  }
  if (!(pieces instanceof Uint8Array)) throw field('info.pieces', 'a byte string');
  if (pieces.length % 20 !== 0) {
    throw new MetainfoError('BAD_PIECES', `info.pieces is ${pieces.length} bytes, not a multiple of 20`);
  }
  const pieceCount = pieces.length / 20;
  if (pieceCount > MAX_PIECES) {
    throw new MetainfoError('TOO_MANY_PIECES', `${pieceCount} pieces, more than the limit of ${MAX_PIECES}`);
  }

  const name = utf8Field(info, 'name') ?? '';
  const safeName = sanitizeElement(name) ?? infohash;
  const files = readFiles(info, safeName);
  const last = files[files.length - 1];
  const length = last ? last.offset + last.length : 0;
  if (length === 0) throw new MetainfoError('EMPTY_TORRENT', 'the torrent has no data (total length 0)');
  const expected = Math.ceil(length / pieceLength);
  if (expected !== pieceCount) {
    throw new MetainfoError(
      'LENGTH_MISMATCH',
      `${length} bytes in pieces of ${pieceLength} need ${expected} piece hashes, the torrent has ${pieceCount}`,
    );
  }

  if (infohashV2) attachV2(info, files, pieceLength, pieceLayers);

  const priv = info.get('private');
  return {
    infohash,
    ...(infohashV2 ? { infohashV2 } : {}),
    name: safeName,
    pieceLength,
    pieceCount,
    length,
    pieceSize(index: number): number {
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) {
        throw new RangeError(`piece ${index} outside 0..${pieceCount - 1}`);
      }
      return index === pieceCount - 1 ? length - pieceLength * (pieceCount - 1) : pieceLength;
    },
    pieceHash(index: number): Uint8Array {
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) {
        throw new RangeError(`piece ${index} outside 0..${pieceCount - 1}`);
      }
      return pieces.subarray(index * 20, index * 20 + 20);
    },
    files,
    private: priv === 1,
    trackers: [],
    info: infoBytes,
  };
}

function readFiles(info: BDict, safeName: string): TorrentFile[] {
  const single = info.get('length');
  const list = info.get('files');
  if (single !== undefined && list !== undefined) {
    throw field('info', 'either length (one file) or files (several), not both');
  }
  if (single !== undefined) {
    return [{ index: 0, path: safeName, length: checkLength(single, 'info.length'), offset: 0, pad: false }];
  }
  if (!Array.isArray(list)) throw field('info.files', 'a list (or info.length for a single file)');
  if (list.length === 0) throw new MetainfoError('EMPTY_TORRENT', 'info.files is empty');
  if (list.length > MAX_FILES) {
    throw new MetainfoError('TOO_MANY_FILES', `${list.length} files, more than the limit of ${MAX_FILES}`);
  }
  const dedup = new PathDeduper();
  const files: TorrentFile[] = [];
  let offset = 0;
  list.forEach((entry, index) => {
    const where = `info.files[${index}]`;
    if (!(entry instanceof BDict)) throw field(where, 'a dictionary');
    const length = checkLength(entry.get('length'), `${where}.length`);
    const attr = entry.get('attr');
    const pad = attr instanceof Uint8Array && attr.includes(0x70 /* 'p' */);
    const elements = pathElements(entry, where);
    // Pad files are never written, so they take no part in collision handling.
    const safe = pad ? sanitizePath(elements) : dedup.add(sanitizePath(elements));
    files.push({ index, path: `${safeName}/${safe.join('/')}`, length, offset, pad });
    offset += length;
    if (offset > MAX_TOTAL_LENGTH) {
      throw new MetainfoError('TOTAL_TOO_LARGE', `total length exceeds ${MAX_TOTAL_LENGTH} bytes`);
    }
  });
  return files;
}

/** path.utf-8 (BEP-less but universal) wins when it is a valid list of valid UTF-8 strings. */
function pathElements(entry: BDict, where: string): string[] {
  const utf = entry.get('path.utf-8');
  if (Array.isArray(utf) && utf.length > 0 && utf.every((e) => e instanceof Uint8Array && isValidUtf8(e))) {
    return (utf as Uint8Array[]).map(decodeName);
  }
  const path = entry.get('path');
  if (!Array.isArray(path) || path.length === 0) throw field(`${where}.path`, 'a non-empty list of strings');
  return path.map((e, i) => {
    if (!(e instanceof Uint8Array)) throw field(`${where}.path[${i}]`, 'a string');
    return decodeName(e);
  });
}

function checkLength(v: BValue | undefined, where: string): number {
  if (typeof v === 'bigint') {
    throw new MetainfoError('TOTAL_TOO_LARGE', `${where} is ${v}, more than ${MAX_TOTAL_LENGTH} bytes`);
  }
  if (typeof v !== 'number' || v < 0) throw field(where, 'a non-negative integer');
  if (v > MAX_TOTAL_LENGTH) {
    throw new MetainfoError('TOTAL_TOO_LARGE', `${where} is ${v}, more than ${MAX_TOTAL_LENGTH} bytes`);
  }
  return v;
}

function utf8Field(d: BDict, key: string): string | undefined {
  const u = d.get(`${key}.utf-8`);
  if (u instanceof Uint8Array && isValidUtf8(u)) return decodeName(u);
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw field(`info.${key}`, 'a string');
  return decodeName(v);
}

/** announce-list tiers (BEP 12), else announce as one tier. Unusable URLs are dropped, not fatal. */
function trackerTiers(top: BDict): string[][] {
  const seen = new Set<string>();
  const url = (v: BValue): string | undefined => {
    if (!(v instanceof Uint8Array) || !isValidUtf8(v)) return undefined;
    const s = decodeName(v).trim();
    if (!/^(https?|udp):\/\/[^\s]+$/i.test(s) || seen.has(s)) return undefined;
    try {
      new URL(s);
    } catch {
      return undefined;
    }
    seen.add(s);
    return s;
  };
  const tiers: string[][] = [];
  const list = top.get('announce-list');
  if (Array.isArray(list)) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue;
      const urls = tier.map(url).filter((u): u is string => u !== undefined);
      if (urls.length > 0) tiers.push(urls);
    }
  }
  if (tiers.length === 0) {
    const a = top.get('announce');
    const u = a === undefined ? undefined : url(a);
    if (u) tiers.push([u]);
  }
  return tiers;
}

function field(where: string, expected: string): MetainfoError {
  return new MetainfoError('INVALID_FIELD', `${where} must be ${expected}`);
}

export function sha1hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}
