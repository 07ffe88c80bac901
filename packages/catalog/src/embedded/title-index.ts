/**
 * The in-memory title index of the embedded store: MiniSearch (an inverted index on a radix tree,
 * BM25 scoring, fuzzy and prefix term expansion) fed with our own tokens, plus a ranking tier on top.
 *
 * Per query word: fuzziness like Elasticsearch's AUTO (0 edits up to 2 characters, 1 up to 5, else 2),
 * so "interstelar" finds "interstellar", except for words with a digit (years, S01E02, 1080p); the last word is also a prefix (type-ahead) once it has
 * 2 characters. Words combine with AND; when AND finds nothing, OR is tried, so one extra or wrong word
 * does not hide everything.
 *
 * BM25 alone can put a fuzzy match above an exact one (a short title scores high), so each hit gets a
 * tier, compared before the score:
 *   3  the title's words are exactly the query's words (an exact title)
 *   2  the query's words appear in the title as a contiguous phrase (the last one may be a prefix)
 *   1  every query word is in the title (the last one may be a prefix), in any order
 *   0  only fuzzy matches
 */
import MiniSearch from 'minisearch';
import { searchTokens } from '../normalize.js';

/** Why 16: a title has far fewer words, and each word costs a fuzzy expansion. */
export const MAX_QUERY_TERMS = 16;

/**
 * Why 1% (and at least 50 titles): in real title lists "the", "of", "a", "part", "season" cross it,
 * while names and nouns users search for stay far below.
 */
export const COMMON_FRACTION = 0.01;
export const COMMON_MIN = 50;

export function autoFuzziness(length: number): number {
  if (length <= 2) return 0;
  if (length <= 5) return 1;
  return 2;
}

export interface IndexHit {
  id: string;
  score: number;
  tier: number;
}

/** Pure: the tier of a title (as tokens) for a query (as tokens). */
export function matchTier(title: string[], query: string[]): number {
  if (query.length === 0) return 0;
  const last = query.length - 1;
  const eq = (t: string | undefined, i: number): boolean =>
    t !== undefined && (t === query[i] || (i === last && query[i]!.length >= 2 && t.startsWith(query[i]!)));
  if (title.length === query.length && title.every((t, i) => t === query[i])) return 3;
  for (let s = 0; s + query.length <= title.length; s++) {
    if (query.every((_, i) => eq(title[s + i], i))) return 2;
  }
  if (query.every((_, i) => title.some((t) => eq(t, i)))) return 1;
  return 0;
}

export class TitleIndex {
  private readonly ms = new MiniSearch<{ id: string; title: string }>({
    fields: ['title'],
    idField: 'id',
    tokenize: searchTokens,
    processTerm: (t) => t,
  });
  private readonly tokens = new Map<string, string[]>();
  /** Document frequency of each word, to spot the common ones ("the", "of"). */
  private readonly df = new Map<string, number>();

  get size(): number {
    return this.tokens.size;
  }

  set(id: string, title: string): void {
    this.remove(id);
    this.mutations++;
    const tokens = searchTokens(title);
    this.tokens.set(id, tokens);
    for (const t of new Set(tokens)) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.ms.add({ id, title });
  }

  remove(id: string): void {
    const old = this.tokens.get(id);
    if (!old) return;
    this.mutations++;
    this.tokens.delete(id);
    for (const t of new Set(old)) {
      const n = (this.df.get(t) ?? 1) - 1;
      if (n > 0) this.df.set(t, n);
      else this.df.delete(t);
    }
    this.ms.discard(id);
  }

  private mutations = 0;
  private common: { words: Set<string>; at: number } | undefined;

  /**
   * Words in more than COMMON_FRACTION of titles (and at least COMMON_MIN of them). Recomputed after
   * enough changes to matter (the set moves slowly), so a search does not rescan the vocabulary.
   */
  commonWords(): Set<string> {
    const stale = Math.max(1000, this.tokens.size * COMMON_FRACTION);
    if (this.common && this.mutations - this.common.at < stale) return this.common.words;
    const threshold = Math.max(COMMON_MIN, this.tokens.size * COMMON_FRACTION);
    const words = new Set<string>();
    for (const [t, n] of this.df) if (n > threshold) words.add(t);
    this.common = { words, at: this.mutations };
    return words;
  }

  /**
   * AUTO fuzziness, except: none for words with a digit (2014 is not 2015, S01E02 is not S01E03), and
   * never enough to reach a common word ("tho" would expand to "the" and match half the catalog:
   * all cost, no selection).
   */
  private fuzzinessFor(term: string, common: Set<string>): number {
    if (/\d/.test(term)) return 0;
    let d = autoFuzziness(term.length);
    for (const c of common) {
      if (d === 0) break;
      if (Math.abs(c.length - term.length) > d) continue;
      const dist = editDistance(term, c, d);
      if (dist <= d) d = dist - 1;
    }
    return Math.max(0, d);
  }

  /** Every hit, unsorted (the store breaks ties with fields it owns). */
  search(query: string): IndexHit[] {
    const terms = searchTokens(query).slice(0, MAX_QUERY_TERMS);
    if (terms.length === 0) return [];
    // Common words ("the", "of") cost the most (long posting lists) and select the least: they stay
    // out of the index query and only count in the tier, so "symphony of the sta" still ranks
    // "Symphony of the Stars" first. Likewise a last word that is a prefix of a common word ("th").
    const common = this.commonWords();
    const last = terms.length - 1;
    const prefixOfCommon = (t: string) => {
      for (const c of common) if (c.startsWith(t)) return true;
      return false;
    };
    const selective = terms.filter((t, i) => !common.has(t) && !(i === last && prefixOfCommon(t)));
    if (selective.length === 0) return this.scan(terms);
    const fuzz = new Map(selective.map((t) => [t, this.fuzzinessFor(t, common)]));
    const options = {
      fuzzy: (term: string) => fuzz.get(term) ?? 0,
      prefix: (term: string, i: number, all: string[]) =>
        i === all.length - 1 && term === terms[last] && term.length >= 2,
      tokenize: (s: string) => s.split(' '),
      processTerm: (t: string) => t,
      // Down-weight expansions so an exact word outranks its neighbours within a tier.
      weights: { fuzzy: 0.3, prefix: 0.6 },
    };
    const q = selective.join(' ');
    let hits = this.ms.search(q, { ...options, combineWith: 'AND' });
    if (hits.length === 0 && selective.length > 1)
      hits = this.ms.search(q, { ...options, combineWith: 'OR' });
    return hits.map((h) => ({
      id: h.id as string,
      score: h.score,
      tier: matchTier(this.tokens.get(h.id as string) ?? [], terms),
    }));
  }

  /**
   * Only common words (or a prefix of one): the index would score half the catalog. A linear pass
   * keeping titles that contain every word is cheaper; shorter titles (closer to exact) score higher.
   */
  private scan(terms: string[]): IndexHit[] {
    const hits: IndexHit[] = [];
    for (const [id, tokens] of this.tokens) {
      const tier = matchTier(tokens, terms);
      if (tier > 0) hits.push({ id, score: 1 / tokens.length, tier });
    }
    return hits;
  }
}

/** Levenshtein distance, giving up (returning max + 1) as soon as it must exceed max. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}
