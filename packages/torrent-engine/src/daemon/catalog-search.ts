/**
 * `GET /api/catalog/search?q=&limit=` and `GET /api/catalog/recent?limit=`: the network's catalog,
 * searched and browsed for the web UI from its own origin. dream-cli asks the catalog itself; a
 * page cannot (a bootstrap node elsewhere sends no CORS headers, and should not have to), so
 * dream-torrent asks for it: this node's own store when it is its network's catalog
 * (network.catalog_url empty), else the configured catalog over HTTP. Answers are the catalog's
 * SearchResponse; entries' text is still untrusted to the page, which shows it as text only.
 */
import { CatalogClient, CatalogClientError, type CatalogStore } from '@dream/catalog';
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

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

export function catalogSearch(opts: CatalogSearchOptions): FastifyPluginAsync {
  // The client drops entries a catalog service would not have accepted (isAcceptableEntry): a
  // broken or hostile bootstrap node cannot make Play fetch a magnet never published that way.
  const remote = opts.catalogUrl
    ? new CatalogClient({
        baseUrl: opts.catalogUrl,
        timeoutMs: 10_000,
        onRejected: (count, url) =>
          opts.log?.warn(
            `the catalog at ${url} sent ${count} malformed or wrongly signed entries; not shown`,
          ),
      })
    : undefined;
  /** The catalog to ask: the bootstrap node, or this node's own store (checked on the way in). */
  const catalog = (): Pick<CatalogStore, 'search' | 'recent'> => {
    if (remote) return remote;
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
