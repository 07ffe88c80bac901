/**
 * `GET /api/catalog/search?q=&limit=` and `GET /api/catalog/recent?limit=`: the network's catalog,
 * searched and browsed for the web UI from its own origin. dream-cli asks the catalog itself; a page cannot (a bootstrap node elsewhere sends no
 * CORS headers, and should not have to), so dream-torrent asks for it: this node's own store when it
 * is its network's catalog (network.catalog_url empty), else the configured catalog over HTTP.
 * Answers are the catalog's SearchResponse; a remote catalog's entries are untrusted text to the
 * page, which shows them as text only.
 */
import {
  CatalogClient,
  CatalogClientError,
  type CatalogEntry,
  type CatalogStore,
  entryProblem,
  verifyEntry,
} from '@dream/catalog';
import type { Logger } from '@dream/config';
import { isSameOrigin } from '@dream/http-stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** The catalog's own bounds (entry.ts): a longer query or page would be refused there anyway. */
const MAX_QUERY_LENGTH = 256;
const MAX_LIMIT = 50;

export interface CatalogSearchOptions {
  /** network.catalog_url; empty: this node's own catalog. */
  catalogUrl: string;
  /** This node's store, when it serves its network's catalog. */
  store?: CatalogStore;
  /** Where entries a remote catalog should not have sent are reported. */
  log?: Logger;
}

/**
 * An entry from another machine, as the catalog service itself would accept it: well formed, its
 * magnet naming its own infohash, and signed by the key it names. A bootstrap node that is broken
 * or hostile cannot make the page play a magnet whose entry was never published that way.
 * (This node's own store checked its entries on the way in.)
 */
function acceptable(e: unknown): e is CatalogEntry {
  if (typeof e !== 'object' || e === null) return false;
  try {
    return entryProblem(e as CatalogEntry) === undefined && verifyEntry(e as CatalogEntry);
  } catch {
    return false;
  }
}

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

export function catalogSearch(opts: CatalogSearchOptions): FastifyPluginAsync {
  const remote = opts.catalogUrl
    ? new CatalogClient({ baseUrl: opts.catalogUrl, timeoutMs: 10_000 })
    : undefined;
  /** The catalog to ask: the bootstrap node (its entries checked), or this node's own store. */
  const catalog = (): Pick<CatalogStore, 'search' | 'recent'> => {
    if (remote) {
      const keep = <T>(items: T[], entryOf: (item: T) => unknown): T[] => {
        const kept = (Array.isArray(items) ? items : []).filter((item) => acceptable(entryOf(item)));
        const dropped = (Array.isArray(items) ? items.length : 0) - kept.length;
        if (dropped > 0) {
          opts.log?.warn(
            `the catalog at ${opts.catalogUrl} sent ${dropped} malformed or wrongly signed entries; not shown`,
          );
        }
        return kept;
      };
      return {
        search: async (q, page) => {
          const res = await remote.search(q, page);
          const sent = Array.isArray(res?.results) ? res.results : [];
          const results = keep(sent, (r) => (r as { entry?: unknown } | null)?.entry);
          const total = Number.isSafeInteger(res?.total) ? res.total : sent.length;
          return { total: Math.max(results.length, total - (sent.length - results.length)), results };
        },
        recent: async (limit) => keep(await remote.recent(limit), (e) => e),
      };
    }
    if (opts.store) return opts.store;
    throw new CatalogClientError(
      503,
      'no_catalog',
      "network.catalog_url is empty and this node's own catalog is not open (see dream-torrent's log)",
    );
  };
  const answer = async <T>(reply: FastifyReply, ask: () => Promise<T>): Promise<T | FastifyReply> => {
    try {
      return await ask();
    } catch (err) {
      if (!(err instanceof CatalogClientError)) throw err;
      if (err.code === 'no_catalog') return fail(reply, 503, 'no-catalog', err.message);
      if (err.code === 'unreachable') {
        return fail(reply, 502, 'catalog-unreachable', `${err.message}: is network.catalog_url right?`);
      }
      return fail(reply, 502, 'catalog-refused', `the catalog at ${opts.catalogUrl} refused: ${err.message}`);
    }
  };
  const limitOf = (text: string | undefined): number | undefined => {
    const limit = text === undefined ? 20 : Number(text);
    return Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT ? limit : undefined;
  };
  return async (app) => {
    // As the control API: no page on another origin gets to use this node's access to the catalog.
    app.addHook('onRequest', async (req, reply) => {
      if (!isSameOrigin(req.headers.origin, req.headers.host)) {
        return fail(
          reply,
          403,
          'forbidden-origin',
          'pages on other origins may not search through this node',
        );
      }
    });
    app.get<{ Querystring: { q?: string; limit?: string } }>('/api/catalog/search', async (req, reply) => {
      const q = (req.query.q ?? '').trim();
      if (q === '' || q.length > MAX_QUERY_LENGTH) {
        return fail(reply, 400, 'bad-request', `q: give 1 to ${MAX_QUERY_LENGTH} characters of title words`);
      }
      const limit = limitOf(req.query.limit);
      if (limit === undefined)
        return fail(reply, 400, 'bad-request', `limit: an integer from 1 to ${MAX_LIMIT}`);
      return answer(reply, () => catalog().search(q, { limit }));
    });
    app.get<{ Querystring: { limit?: string } }>('/api/catalog/recent', async (req, reply) => {
      const limit = limitOf(req.query.limit);
      if (limit === undefined)
        return fail(reply, 400, 'bad-request', `limit: an integer from 1 to ${MAX_LIMIT}`);
      return answer(reply, async () => ({ entries: await catalog().recent(limit) }));
    });
  };
}
