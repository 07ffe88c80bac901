#!/usr/bin/env node
/**
 * dream-torrent: the BitTorrent engine daemon. Starts the engine (peer listener on
 * torrent.host:torrent.port, torrents restored from general.state_dir/torrents) and the control API
 * on stream.host:stream.port. SIGTERM/SIGINT flush resume data and exit within STOP_DEADLINE_MS.
 * Exit codes: 0 stopped cleanly, 1 unexpected error or port in use, 2 bad arguments, 78 bad configuration.
 */
import path from 'node:path';
import { type CatalogStore, openCatalogStore } from '@dream/catalog';
import { daemonArgsOrExit, startupConfig } from '@dream/config';
import { DhtClient } from '@dream/dht';
import { startDaemonServer } from '../daemon/server.js';
import { Engine } from '../engine/engine.js';

/** A hard deadline for shutdown: resume data of a few torrents saves in milliseconds. */
const STOP_DEADLINE_MS = 4_000;

async function main(): Promise<void> {
  const args = daemonArgsOrExit(
    'dream-torrent',
    'The Dream BitTorrent engine, with its control API on 127.0.0.1:stream.port.',
    new URL('../../package.json', import.meta.url),
  );
  const { config, log } = startupConfig('dream-torrent', { config: args.config, logLevel: args.logLevel });
  const dht = config.dht.enabled
    ? new DhtClient({ apiUrl: `http://127.0.0.1:${config.dht.api_port}` })
    : undefined;

  let engine: Engine;
  try {
    engine = await Engine.start({
      outputDir: config.general.output_dir,
      resumeDir: path.join(config.general.state_dir, 'torrents'),
      host: config.torrent.host,
      port: config.torrent.port,
      maxConnections: config.torrent.max_connections,
      uploadRateLimit: config.torrent.upload_rate_limit,
      downloadRateLimit: config.torrent.download_rate_limit,
      encryption: config.torrent.encryption,
      dht,
      log,
    });
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }
  let server: Awaited<ReturnType<typeof startDaemonServer>>;
  let catalog: CatalogStore | undefined;
  try {
    // This node's own catalog under /catalog, when the node is its network's catalog (the
    // single-machine default, network.catalog_url empty). A catalog that cannot open (another
    // process holds it) costs the node its search, not its torrents.
    if (!config.network.catalog_url) {
      catalog = await openCatalogStore(config, log).catch((err: Error) => {
        log.warn(`this node's catalog is not served: ${err.message}`);
        return undefined;
      });
    }
    server = await startDaemonServer(engine, { config, log, ...(catalog ? { catalog } : {}) });
  } catch (err) {
    log.fatal((err as Error).message);
    await engine.stop();
    await catalog?.close();
    process.exit(1);
  }
  const address = server.server.address();
  const addr = typeof address === 'object' && address ? address : undefined;
  // A machine-readable line for supervisors and tests (ports may have been 0 = any).
  log.info(
    { peerPort: engine.port, apiPort: addr?.port, torrents: engine.list().length },
    `dream-torrent ready: peers on ${config.torrent.host}:${engine.port}, control API on http://${config.stream.host}:${addr?.port}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: flushing resume data');
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    void (async () => {
      await server.close().catch(() => {});
      await engine.stop();
      await catalog?.close().catch(() => {});
      log.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`dream-torrent: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
