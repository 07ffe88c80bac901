/**
 * Entity-tags and conditional requests (RFC 9110 §8.8.3, §13), sans-I/O. We have no Last-Modified
 * (a torrent file has no meaningful date), so every date-based condition evaluates as the RFC says
 * for a resource without a modification date.
 */
import { createHash } from 'node:crypto';

/**
 * The strong entity-tag sent for a file: a hash of the source's identity string, so any string the
 * engine chooses becomes a valid, quote-free `etagc` sequence of bounded length.
 */
export function formatEtag(identity: string): string {
  return `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`;
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

// §8.8.3: entity-tag = [ weak ] opaque-tag; weak = %s"W/"; opaque-tag = DQUOTE *etagc DQUOTE.
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

function parseTag(s: string): EntityTag | undefined {
  const m = ENTITY_TAG.exec(s.trim());
  return m ? { weak: m[1] !== undefined, opaque: m[2]! } : undefined;
}

/** A list of entity-tags, or '*'. Malformed members are dropped (they can match nothing). */
function parseTagList(header: string): EntityTag[] | '*' {
  if (header.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  for (const m of header.matchAll(/(?:W\/)?"[^"]*"/g)) {
    const tag = parseTag(m[0]);
    if (tag) tags.push(tag);
  }
  return tags;
}

/** §8.8.3.2 strong comparison: neither tag weak, opaque tags equal. */
function strongMatch(a: EntityTag, ours: string): boolean {
  return !a.weak && a.opaque === ours;
}

export interface Preconditions {
  'if-match'?: string | undefined;
  'if-none-match'?: string | undefined;
  'if-range'?: string | undefined;
}

export type PreconditionResult = 'proceed' | 'not-modified' | 'failed';

/**
 * §13.2.2 evaluation order for GET/HEAD: If-Match (412 when false), [If-Unmodified-Since: ignored
 * without a modification date, §13.1.4], If-None-Match (304 when false), [If-Modified-Since: ignored,
 * §13.1.3]. If-Range is separate: see `ifRangeHolds`.
 */
export function evaluatePreconditions(h: Preconditions, etag: string): PreconditionResult {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    const list = parseTagList(ifMatch);
    // §13.1.1: strong comparison; '*' is true when a current representation exists (it does).
    if (list !== '*' && !list.some((t) => strongMatch(t, etag))) return 'failed';
  }
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const list = parseTagList(ifNoneMatch);
    // §13.1.2: weak comparison; for GET/HEAD a false condition means 304 Not Modified.
    if (list === '*' || list.some((t) => t.opaque === etag)) return 'not-modified';
  }
  return 'proceed';
}

/**
 * §13.1.5 If-Range: true when the validator is an entity-tag that strongly matches ours. A date is
 * true only against a strong Last-Modified, which we never send, so a date is always false; false
 * means "ignore Range and send the whole representation", the safe answer for a client whose cached
 * bytes may be stale.
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string): boolean {
  if (ifRange === undefined) return true;
  const tag = parseTag(ifRange);
  return tag !== undefined && strongMatch(tag, etag);
}
