/**
 * The Range header (RFC 9110 §14.1, §14.2), sans-I/O: a header value and the representation's size
 * in, a typed decision out. Never throws. The server's whole range policy lives here, so it can be
 * tested exhaustively without a socket.
 */

/** Inclusive byte range, 0 <= start <= end < size. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision =
  /** No Range header: serve the whole representation (200). */
  | { kind: 'none' }
  /** A Range header we ignore on purpose (RFC 9110 §14.2 "MAY ignore"): serve 200 in full. */
  | { kind: 'ignored'; reason: string }
  /** A well-formed but invalid or unsatisfiable set: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable'; reason: string }
  /** Satisfiable ranges, sorted by start, overlapping and adjacent ones coalesced; never empty. */
  | { kind: 'ranges'; ranges: ByteRange[] };

/**
 * At most this many range-specs in one header; beyond it the header is ignored and the whole file is
 * served (200). RFC 9110 §14.2 and §17.15 let a server ignore "many small ranges" as a sign of a
 * broken client or a denial-of-service attempt; players ask for one range, browsers and download
 * managers for a handful, so 16 leaves room for real clients and bounds the work per request.
 * We ignore rather than reject (416) because a 200 is always a correct answer a client can use.
 */
export const MAX_RANGE_SPECS = 16;

// RFC 9110 §5.6.2 token characters, for the range-unit.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INT_RANGE = /^([0-9]+)-([0-9]*)$/;
const SUFFIX_RANGE = /^-([0-9]+)$/;

/**
 * Digits to a number; values beyond 2^53 become Infinity (a first-pos that large is unsatisfiable, a
 * last-pos that large is clamped to the end), so huge numbers never lose precision silently.
 */
function toPosition(digits: string): number {
  const trimmed = digits.replace(/^0+(?=[0-9])/, '');
  if (trimmed.length > 15) return Number.POSITIVE_INFINITY;
  return Number(trimmed);
}

function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'none' };
  // §14.2: a server MAY ignore Range on a representation with no content; every range of an empty
  // file is unsatisfiable anyway, and a 200 with Content-Length 0 is what a client can use.
  if (size === 0) return { kind: 'ignored', reason: 'the file is empty' };

  const value = trimOws(header);
  const eq = value.indexOf('=');
  if (eq <= 0) return { kind: 'ignored', reason: 'not a ranges-specifier (expected "bytes=...")' };
  const unit = trimOws(value.slice(0, eq));
  if (!TOKEN.test(unit)) return { kind: 'ignored', reason: 'the range unit is not a token' };
  // §14.1: range units are case-insensitive; an origin MUST ignore a unit it does not understand.
  if (unit.toLowerCase() !== 'bytes') return { kind: 'ignored', reason: `unknown range unit "${unit}"` };

  // §5.6.1: a list may contain empty elements, which a recipient ignores.
  const specs = value
    .slice(eq + 1)
    .split(',')
    .map(trimOws)
    .filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'ignored', reason: 'empty range-set' };
  if (specs.length > MAX_RANGE_SPECS) {
    return { kind: 'ignored', reason: `more than ${MAX_RANGE_SPECS} ranges` };
  }

  const wanted: ByteRange[] = [];
  let invalid: string | undefined;
  for (const spec of specs) {
    const int = INT_RANGE.exec(spec);
    if (int) {
      const first = toPosition(int[1]!);
      const last = int[2] === '' ? undefined : toPosition(int[2]!);
      // §14.1.1: "An int-range is invalid if the last-pos value is present and less than the
      // first-pos". The syntax is fine, so this is a real (if broken) range request: 416 below.
      if (last !== undefined && last < first) {
        invalid ??= `inverted range "${spec}"`;
        continue;
      }
      // §14.1.1: satisfiable iff first-pos < length; a last-pos past the end is clamped.
      if (first < size) wanted.push({ start: first, end: Math.min(last ?? size - 1, size - 1) });
      continue;
    }
    const suffix = SUFFIX_RANGE.exec(spec);
    if (suffix) {
      const length = toPosition(suffix[1]!);
      // §14.1.1: a suffix-range is satisfiable iff suffix-length > 0; longer than the file = all of it.
      if (length > 0) wanted.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    // Neither int-range nor suffix-range: the header does not follow the grammar. §14.2 lets us
    // ignore it; serving the whole file is the answer every client understands.
    return { kind: 'ignored', reason: `malformed range-spec "${spec}"` };
  }
  // §14.2: "If ... that ranges-specifier is invalid or unsatisfiable, the server SHOULD send a 416".
  if (invalid !== undefined) return { kind: 'unsatisfiable', reason: invalid };
  if (wanted.length === 0) return { kind: 'unsatisfiable', reason: `no range starts before byte ${size}` };
  return { kind: 'ranges', ranges: coalesce(wanted) };
}

/**
 * Sort and merge overlapping or adjacent ranges. §15.3.7.2 lets a server coalesce ranges "regardless
 * of the order in which the corresponding range-spec appeared"; it also defuses the overlapping-range
 * amplification of §17.15 (bytes=0-,0-,0-... would otherwise send the file many times).
 */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}
