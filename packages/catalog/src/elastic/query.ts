/**
 * What the Elasticsearch store sends, as pure functions (tested without a server).
 *
 * Mapping: `title` is text analysed with lowercase + asciifolding (accent and case insensitive), with
 * a `search_as_you_type` subfield (`title.prefix`, with 2- and 3-gram shingles) for type-ahead.
 * `titleNorm` holds searchTokens(title).join(' '), the same normal form the embedded store compares,
 * so "this exact title" is a term query. `infohash` and `publicKey` are keywords; the file list is kept
 * in _source only. `dynamic: strict` so a stray field is an error, not a silent mapping change.
 *
 * Query: the words of the query (normalised by searchTokens, so both stores see the same words) must
 * all match (operator and; the store retries with or when and finds nothing), each with fuzziness
 * AUTO; the last one also as a prefix (bool_prefix). A phrase match and an exact title add boosts,
 * so an exact title ranks above a fuzzy one.
 */
import { searchTokens } from '../normalize.js';

export const MAX_QUERY_TERMS = 16;
/** Boosts: an exact title must beat any fuzzy/prefix combination; a phrase beats scattered words. */
export const EXACT_TITLE_BOOST = 20;
export const PHRASE_BOOST = 3;

export function elasticIndexBody(): { settings: Record<string, unknown>; mappings: Record<string, unknown> } {
  return {
    settings: {
      analysis: {
        analyzer: {
          dream_title: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding'] },
        },
        normalizer: {
          dream_keyword: { type: 'custom', filter: ['lowercase', 'asciifolding'] },
        },
      },
    },
    mappings: {
      dynamic: 'strict',
      properties: {
        infohash: { type: 'keyword' },
        title: {
          type: 'text',
          analyzer: 'dream_title',
          fields: {
            keyword: { type: 'keyword', normalizer: 'dream_keyword', ignore_above: 1024 },
            prefix: { type: 'search_as_you_type', analyzer: 'dream_title' },
          },
        },
        titleNorm: { type: 'keyword', ignore_above: 2048 },
        magnet: { type: 'keyword', index: false, doc_values: false },
        size: { type: 'long' },
        files: { type: 'object', enabled: false },
        durationSeconds: { type: 'double' },
        codec: { type: 'keyword' },
        createdAt: { type: 'date' },
        updatedAt: { type: 'date' },
        publicKey: { type: 'keyword' },
        signature: { type: 'keyword', index: false, doc_values: false },
      },
    },
  };
}

export function tombstoneIndexBody(): { mappings: Record<string, unknown> } {
  return {
    mappings: {
      dynamic: 'strict',
      properties: { infohash: { type: 'keyword' }, deletedAt: { type: 'date' } },
    },
  };
}

/** The normalised query text both stores search for. */
export function normalizedQuery(query: string): string {
  return searchTokens(query).slice(0, MAX_QUERY_TERMS).join(' ');
}

export interface ElasticSearchBody {
  from: number;
  size: number;
  track_total_hits: true;
  query: Record<string, unknown>;
  sort: unknown[];
}

export function buildElasticQuery(
  query: string,
  page: { limit: number; offset: number },
  operator: 'and' | 'or' = 'and',
): ElasticSearchBody {
  const q = normalizedQuery(query);
  return {
    from: page.offset,
    size: page.limit,
    track_total_hits: true,
    query: {
      bool: {
        should: [
          {
            multi_match: {
              query: q,
              type: 'bool_prefix',
              fields: ['title.prefix', 'title.prefix._2gram', 'title.prefix._3gram'],
              fuzziness: 'AUTO',
              operator,
            },
          },
          { match: { title: { query: q, fuzziness: 'AUTO', operator } } },
          { match_phrase: { title: { query: q, boost: PHRASE_BOOST } } },
          { term: { titleNorm: { value: q, boost: EXACT_TITLE_BOOST } } },
        ],
        minimum_should_match: 1,
      },
    },
    sort: ['_score', { createdAt: 'desc' }, { infohash: 'asc' }],
  };
}

export function buildRecentQuery(limit: number): { size: number; query: unknown; sort: unknown[] } {
  return { size: limit, query: { match_all: {} }, sort: [{ createdAt: 'desc' }, { infohash: 'asc' }] };
}
