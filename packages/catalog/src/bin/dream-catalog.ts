#!/usr/bin/env node
/**
 * dream-catalog: a bootstrap node's catalog service on its own. It binds 127.0.0.1 unless told
 * otherwise: exposing the catalog to a network is an operator's deliberate choice (--host 0.0.0.0).
 * With catalog.backend = "elasticsearch" it is the only thing to expose; Elasticsearch stays private.
 */
import { startupConfig } from '@dream/config';
import { Command, InvalidArgumentError } from 'commander';
import { buildCatalogServer } from '../http/server.js';
import { openCatalogStore } from '../store.js';

const EXIT_USAGE = 2;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected an integer from 0 to 65535');
  return n;
}

const program = new Command('dream-catalog')
  .description("Serve a Dream network's video catalog over HTTP (a bootstrap node's service)")
  .option('--config <path>', 'config file (default: $DREAM_CONFIG, then ~/.config/dream/config.toml)')
  .option('--host <address>', 'address to bind; 0.0.0.0 exposes the catalog to the network', '127.0.0.1')
  .option('--port <n>', 'TCP port (0 picks a free one)', port, 6884)
  .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
  .option(
    '--trust-proxy',
    'take the client address from X-Forwarded-For (behind your own reverse proxy only)',
  )
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));

program.parse();
const flags = program.opts<{
  config?: string;
  host: string;
  port: number;
  logLevel?: string;
  trustProxy?: boolean;
}>();

const { config, log } = startupConfig('dream-catalog', { config: flags.config, logLevel: flags.logLevel });
const store = await openCatalogStore(config, log).catch((err: Error) => {
  log.fatal({ err }, `cannot open the catalog store: ${err.message}`);
  process.exit(1);
});
const app = await buildCatalogServer(store, { log, trustProxy: flags.trustProxy ?? false });
await app.listen({ host: flags.host, port: flags.port });
const addr = app.server.address();
const bound = typeof addr === 'object' && addr ? addr.port : flags.port;
log.info({ host: flags.host, port: bound, backend: config.catalog.backend }, 'dream-catalog listening');
// Machine-readable line on stdout: scripts and tests read the port from it (--port 0).
process.stdout.write(`listening ${flags.host} ${bound}\n`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  await app.close();
  await store.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
