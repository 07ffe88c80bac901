/**
 * A stand-alone fastify server for the catalog API (what dream-catalog runs): the routes at the
 * root, plus GET /healthz.
 */
import type { Logger } from '@dream/config';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CatalogStore } from '../store.js';
import { type CatalogRoutesOptions, catalogRoutes, MAX_BODY_BYTES } from './routes.js';

export interface CatalogServerOptions extends CatalogRoutesOptions {
  log?: Logger;
  /** Trust X-Forwarded-For (only behind a reverse proxy you run): rate limits then key on the real client. */
  trustProxy?: boolean;
}

export async function buildCatalogServer(
  store: CatalogStore,
  opts: CatalogServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.log ? { loggerInstance: opts.log } : { logger: false }),
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: opts.trustProxy ?? false,
  }) as unknown as FastifyInstance;
  app.get('/healthz', async () => ({ ok: true }));
  await app.register(catalogRoutes(store, opts));
  return app;
}
