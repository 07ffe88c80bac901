/**
 * A catalog entry and the checks every entry passes before any store sees it. The checks are pure:
 * they return the first problem as a value with a stable code (see docs/design/catalog.md).
 */
import { titleProblem } from './normalize.js';

export interface CatalogFile {
  path: string;
  size: number;
}

export interface CatalogEntry {
  /** 40 lowercase hex characters (BitTorrent v1 infohash). */
  infohash: string;
  /** Normalised with normalizeTitle (NFC, no invisible characters), 1 to MAX_TITLE_LENGTH characters. */
  title: string;
  /** magnet:?xt=urn:btih:<infohash>…, with the uploader's address as a peer hint (x.pe). */
  magnet: string;
  /** Total bytes: the sum of the files' sizes. */
  size: number;
  files: CatalogFile[];
  durationSeconds?: number;
  codec?: string;
  /** ISO 8601 UTC with milliseconds, when the entry was first published. Signed. */
  createdAt: string;
  /** ISO 8601 UTC, when this version was signed; strictly increases on each update (replay guard). */
  updatedAt: string;
  /** The uploader's ed25519 public key: the 32 raw bytes as 64 lowercase hex characters. */
  publicKey: string;
  /** ed25519 signature over entryPayload(entry): 64 bytes as 128 lowercase hex characters. */
  signature: string;
}

export interface SearchResult {
  entry: CatalogEntry;
  /** Higher is better; only comparable within one response (each store scores its own way). */
  score: number;
}

export interface SearchPage {
  limit?: number;
  offset?: number;
}

export interface SearchResponse {
  total: number;
  results: SearchResult[];
}

/** A deletion remembered so a replayed, older signed write cannot bring the entry back. */
export interface Tombstone {
  infohash: string;
  deletedAt: string;
}

// Limits. Each one bounds memory per entry and the request body, and leaves room for real videos.
export const MAX_TITLE_LENGTH = 256; // characters; a long film title with year and edition is < 150
export const MAX_FILES = 1000; // a season pack with subtitles has a few hundred files at most
export const MAX_PATH_LENGTH = 1024; // characters per file path
export const MAX_MAGNET_LENGTH = 8192; // a magnet with a handful of x.pe peer hints and trackers
export const MAX_CODEC_LENGTH = 64;
export const MAX_DURATION_SECONDS = 1e7; // ~115 days
export const MAX_SEARCH_LIMIT = 100;
/** Elasticsearch's default index.max_result_window; both stores refuse to page past it. */
export const MAX_SEARCH_WINDOW = 10_000;
export const MAX_QUERY_LENGTH = 256;
export const MAX_RECENT_LIMIT = 100;

export const INFOHASH_RE = /^[0-9a-f]{40}$/;
export const PUBLIC_KEY_RE = /^[0-9a-f]{64}$/;
export const SIGNATURE_RE = /^[0-9a-f]{128}$/;
/** Exactly what Date.prototype.toISOString produces, so a time has one spelling only. */
export const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CODEC_RE = /^[A-Za-z0-9._+-]+$/;
const PATH_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;

export type EntryProblemCode =
  | 'invalid_infohash'
  | 'invalid_title'
  | 'invalid_magnet'
  | 'invalid_entry'
  | 'invalid_public_key'
  | 'missing_signature'
  | 'invalid_time';

export interface EntryProblem {
  code: EntryProblemCode;
  message: string;
}

export function isInfohash(s: unknown): s is string {
  return typeof s === 'string' && INFOHASH_RE.test(s);
}

export function isIsoTime(s: unknown): s is string {
  return typeof s === 'string' && ISO_TIME_RE.test(s) && new Date(s).toISOString() === s;
}

const isSize = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** The first thing wrong with an entry, or undefined. The signature itself is checked elsewhere. */
export function entryProblem(e: CatalogEntry): EntryProblem | undefined {
  const bad = (code: EntryProblemCode, message: string): EntryProblem => ({ code, message });
  if (!isInfohash(e.infohash)) {
    return bad('invalid_infohash', 'infohash must be 40 lowercase hexadecimal characters');
  }
  if (typeof e.title !== 'string') return bad('invalid_title', 'title must be a string');
  const tp = titleProblem(e.title, MAX_TITLE_LENGTH);
  if (tp) return bad('invalid_title', tp);
  if (typeof e.magnet !== 'string' || !e.magnet.startsWith('magnet:?')) {
    return bad('invalid_magnet', 'magnet must start with "magnet:?"');
  }
  if (e.magnet.length > MAX_MAGNET_LENGTH) {
    return bad('invalid_magnet', `magnet is longer than ${MAX_MAGNET_LENGTH} characters`);
  }
  if (!e.magnet.toLowerCase().includes(`xt=urn:btih:${e.infohash}`)) {
    return bad('invalid_magnet', `magnet must contain xt=urn:btih:${e.infohash} (the entry's own infohash)`);
  }
  if (!Array.isArray(e.files) || e.files.length === 0 || e.files.length > MAX_FILES) {
    return bad('invalid_entry', `files must list 1 to ${MAX_FILES} files`);
  }
  let total = 0;
  for (const [i, f] of e.files.entries()) {
    if (typeof f.path !== 'string' || f.path.length === 0 || f.path.length > MAX_PATH_LENGTH) {
      return bad('invalid_entry', `files[${i}].path must be 1 to ${MAX_PATH_LENGTH} characters`);
    }
    if (PATH_FORBIDDEN.test(f.path)) {
      return bad('invalid_entry', `files[${i}].path contains a control or invisible character`);
    }
    if (!isSize(f.size)) return bad('invalid_entry', `files[${i}].size must be a non-negative integer`);
    total += f.size;
  }
  if (!isSize(e.size) || e.size !== total) {
    return bad('invalid_entry', `size must be the sum of the files' sizes (${total}), found ${e.size}`);
  }
  if (e.durationSeconds !== undefined) {
    const d = e.durationSeconds;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_DURATION_SECONDS) {
      return bad('invalid_entry', `durationSeconds must be a number from 0 to ${MAX_DURATION_SECONDS}`);
    }
  }
  if (e.codec !== undefined) {
    if (typeof e.codec !== 'string' || e.codec.length > MAX_CODEC_LENGTH || !CODEC_RE.test(e.codec)) {
      return bad('invalid_entry', `codec must be 1 to ${MAX_CODEC_LENGTH} characters of [A-Za-z0-9._+-]`);
    }
  }
  if (!isIsoTime(e.createdAt) || !isIsoTime(e.updatedAt)) {
    return bad(
      'invalid_time',
      'createdAt and updatedAt must be ISO 8601 UTC times like 2026-01-31T12:00:00.000Z',
    );
  }
  if (e.createdAt > e.updatedAt) return bad('invalid_time', 'createdAt is later than updatedAt');
  if (typeof e.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(e.publicKey)) {
    return bad(
      'invalid_public_key',
      'publicKey must be an ed25519 public key as 64 lowercase hex characters',
    );
  }
  if (typeof e.signature !== 'string' || e.signature.length === 0) {
    return bad('missing_signature', 'the entry is not signed (signature is missing)');
  }
  return undefined;
}

/** A copy with exactly the known fields, so nothing extra a client sent is ever stored. */
export function cleanEntry(e: CatalogEntry): CatalogEntry {
  const out: CatalogEntry = {
    infohash: e.infohash,
    title: e.title,
    magnet: e.magnet,
    size: e.size,
    files: e.files.map((f) => ({ path: f.path, size: f.size })),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    publicKey: e.publicKey,
    signature: e.signature,
  };
  if (e.durationSeconds !== undefined) out.durationSeconds = e.durationSeconds;
  if (e.codec !== undefined) out.codec = e.codec;
  return out;
}
