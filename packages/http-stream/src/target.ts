/**
 * What a stream URL names: an infohash and a file (by index or by path). Hostile input stops here:
 * the path is only ever compared with the torrent's own file list (never joined to a directory), but
 * traversal-looking, NUL, backslash and overlong paths are refused outright with a clear 400 so no
 * layer behind us has to wonder.
 */
import { type HttpProblem, problem } from './errors.js';

/** Longest file part we accept, in bytes of the percent-decoded UTF-8 (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

const HEX40 = /^[0-9a-fA-F]{40}$/;
const BASE32_32 = /^[A-Za-z2-7]{32}$/;
const B32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A v1 infohash as lowercase hex, from 40 hex digits or 32 base32 characters (the two forms a magnet
 * link uses, BEP 9), or undefined. The source always receives the lowercase hex form.
 */
export function parseInfohash(s: string): string | undefined {
  if (HEX40.test(s)) return s.toLowerCase();
  if (!BASE32_32.test(s)) return undefined;
  let bits = 0;
  let value = 0;
  let hex = '';
  for (const c of s.toUpperCase()) {
    value = (value << 5) | B32_ALPHABET.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      hex += ((value >>> bits) & 0xff).toString(16).padStart(2, '0');
    }
  }
  return hex;
}

export type FileSelector = { kind: 'index'; index: number } | { kind: 'path'; path: string };

// An all-digit file part is an index; a file literally named "3" at the root is reachable by its index.
const INDEX = /^(0|[1-9][0-9]{0,8})$/;

/** Parse the still percent-encoded file part of a stream URL (after `/stream/<infohash>/`). */
export function parseFileSelector(encoded: string): FileSelector | HttpProblem {
  if (INDEX.test(encoded)) return { kind: 'index', index: Number(encoded) };
  // Each encoded byte is at most 3 characters; refuse early before decoding a huge string.
  if (encoded.length > MAX_PATH_BYTES * 3) return tooLong();
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    return problem('BAD_PATH', 'the file path is not valid percent-encoded UTF-8');
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return tooLong();
  if (path.includes('\0')) return problem('BAD_PATH', 'the file path contains a NUL byte');
  if (path.includes('\\')) return problem('BAD_PATH', 'the file path contains a backslash');
  for (const segment of path.split('/')) {
    if (segment === '') return problem('BAD_PATH', 'the file path has an empty segment');
    if (segment === '.' || segment === '..') {
      return problem('BAD_PATH', 'the file path contains a "." or ".." segment');
    }
  }
  return { kind: 'path', path };
}

function tooLong(): HttpProblem {
  return problem('PATH_TOO_LONG', `the file path is longer than ${MAX_PATH_BYTES} bytes`);
}

/** Percent-encode a torrent path for a URL, segment by segment (the '/' separators stay). */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * The file part of a stream URL for the file at `index` (among the torrent's non-pad files, the
 * listing's order) with `path`: its path, which a player shows as the title, except where the path
 * would read as an index (a single-file torrent named "2"), then its index.
 */
export function fileUrlPart(index: number, path: string): string {
  return INDEX.test(path) ? String(index) : encodePath(path);
}
