/**
 * Text normalisation, in two flavours:
 *
 * - `normalizeTitle` is what a title must look like to be stored: NFC, no control, format (bidi
 *   overrides, zero-width joiners, BOM, soft hyphen) or private-use characters, whitespace collapsed to
 *   single spaces and trimmed, at most MAX_COMBINING_RUN combining marks in a row (no "Zalgo" towers).
 *   The signer applies it before signing; the server refuses any title that is not already in this
 *   form, because rewriting a title server-side would break the signature over it.
 * - `searchTokens` is how titles and queries are compared: NFKD (so "ﬁ" is "fi" and full-width
 *   letters are ASCII), combining marks stripped ("Amélie" is "amelie"), lower-cased, split on
 *   anything that is not a letter or a digit.
 */

/** Why 3: real scripts (Vietnamese, Devanagari) stack at most two or three marks on one base. */
export const MAX_COMBINING_RUN = 3;

// Cc: controls (including \t \n). Cf: format characters (bidi embeddings/overrides/isolates U+202A-202E,
// U+2066-2069, zero-width U+200B-200F, U+FEFF, soft hyphen U+00AD, …). Co: private use. Cs: surrogates.
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/gu;
const WHITESPACE = /[\p{White_Space}]+/gu;
const COMBINING_RUN = new RegExp(`(\\p{M}{${MAX_COMBINING_RUN}})\\p{M}+`, 'gu');

export function normalizeTitle(raw: string): string {
  // Each step can undo another (removing a bidi mark between "A" and U+0301 lets NFC compose them;
  // cutting marks can change composition), so repeat to a fixed point. Two rounds settle every case
  // the property test has found; the bound only guards against a pathological input.
  let s = raw;
  for (let round = 0; round < 8; round++) {
    const next = normalizeOnce(s);
    if (next === s) break;
    s = next;
  }
  return s;
}

function normalizeOnce(s: string): string {
  // With the u flag a lone surrogate is one code point of category Cs, so FORBIDDEN removes it.
  return s
    .replace(WHITESPACE, ' ')
    .replace(FORBIDDEN, '')
    .normalize('NFC')
    .replace(COMBINING_RUN, '$1')
    .replace(WHITESPACE, ' ')
    .trim();
}

/** Why a title was refused, or undefined when it is acceptable as stored text. */
export function titleProblem(title: string, maxLength: number): string | undefined {
  if (/\p{Cs}/u.test(title)) return 'title contains a lone UTF-16 surrogate';
  const normal = normalizeTitle(title);
  if (normal.length === 0) return 'title is empty (after removing control and invisible characters)';
  if (normal !== title) {
    return 'title is not normalised (NFC, no control/bidi/zero-width characters, single spaces, trimmed): sign normalizeTitle(title)';
  }
  const length = [...title].length;
  if (length > maxLength) return `title is ${length} characters long, the limit is ${maxLength}`;
  return undefined;
}

const MARKS = /\p{M}/gu;
const SEPARATORS = /[^\p{L}\p{N}]+/u;

/** Lower-case, accent-free word tokens of a title or a query. */
export function searchTokens(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(MARKS, '')
    .toLowerCase()
    .split(SEPARATORS)
    .filter((t) => t.length > 0);
}
