/**
 * dream-torrent's one HTTP server on stream.host:stream.port, where the engine meets the outside:
 * the control API (/api), the stream routes players read from (/stream), this node's catalog
 * (/catalog: every node can answer for its own catalog; a bootstrap node runs dream-catalog alone)
 * and the web UI (/ and /ui/).
 * This module and the bin are the only places that wire engine, http-stream and catalog together.
 */
import type { CatalogStore } from '@dream/catalog';
import { catalogRoutes } from '@dream/catalog';
import type { DreamConfig, Logger } from '@dream/config';
import { hostGuard, installCors, streamRoutes } from '@dream/http-stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { controlApi, MAX_BODY_BYTES } from '../control-api/routes.js';
import type { Engine } from '../engine/engine.js';
import { streamableTorrent, TorrentStreamSource } from '../stream/index.js';
import { webUi } from '../web-ui/routes.js';
import { catalogSearch } from './catalog-search.js';

export interface DaemonServerOptions {
  config: DreamConfig;
  log?: Logger;
  /** This node's catalog store; undefined leaves /catalog out. */
  catalog?: CatalogStore;
}

export async function buildDaemonServer(engine: Engine, opts: DaemonServerOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const app = Fastify({ bodyLimit: MAX_BODY_BYTES, logger: false }) as unknown as FastifyInstance;
  // Loopback names plus the bound address: a page on another site cannot reach us by DNS rebinding.
  const bound = ['0.0.0.0', '::'].includes(config.stream.host) ? [] : [config.stream.host];
  app.addHook('onRequest', hostGuard(bound));
  installCors(app, config.stream.cors_origins);
  await app.register(
    controlApi(engine, { bindHost: config.stream.host, ...(opts.log ? { log: opts.log } : {}) }),
  );
  const source = new TorrentStreamSource(
    (infohash) => {
      const t = engine.torrent(infohash);
      return t ? streamableTorrent(t) : undefined;
    },
    {
      readaheadSeconds: config.stream.readahead_seconds,
      // A duration given with the torrent describes its video: the largest file.
      durationSeconds: (infohash, fileIndex) => engine.torrent(infohash)?.durationOf(fileIndex),
    },
  );
  await app.register(streamRoutes(source, { corsOrigins: config.stream.cors_origins }));
  if (opts.catalog) await app.register(catalogRoutes(opts.catalog), { prefix: '/catalog' });
  await app.register(
    catalogSearch({
      catalogUrl: config.network.catalog_url,
      ...(opts.catalog ? { store: opts.catalog } : {}),
    }),
  );
  await app.register(webUi());
  return app;
}

/** Builds and listens; a clear error when the port is taken. */
export async function startDaemonServer(engine: Engine, opts: DaemonServerOptions): Promise<FastifyInstance> {
  const app = await buildDaemonServer(engine, opts);
  const { host, port } = opts.config.stream;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `EADDRINUSE: stream.port ${host}:${port} is already in use: is another dream-torrent running? Stop it or set stream.port`,
      );
    }
    throw err;
  }
  return app;
}
