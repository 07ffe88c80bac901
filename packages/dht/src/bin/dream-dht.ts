#!/usr/bin/env node
/**
 * dream-dht: runs the DHT daemon until SIGTERM or SIGINT, then saves the routing table and exits
 * (within 2 s: a hard timer makes sure of it even if a socket refuses to close).
 * Exit codes: 0 stopped cleanly, 1 unexpected error, 2 bad arguments, 78 bad configuration.
 */
import { daemonArgsOrExit, EXIT_CONFIG, startupConfig } from '@dream/config';
import { startDhtDaemon } from '../daemon.js';
import { DESCRIPTION } from './args.js';

/** Leaves margin under the promised 2 s for the process itself to exit. */
const STOP_DEADLINE_MS = 1_500;

async function main(): Promise<void> {
  const args = daemonArgsOrExit('dream-dht', DESCRIPTION, new URL('../../package.json', import.meta.url));
  const { config, log } = startupConfig('dream-dht', { config: args.config, logLevel: args.logLevel });
  if (!config.dht.enabled) {
    log.info('dht.enabled is false in the configuration: nothing to run');
    return;
  }
  let daemon: Awaited<ReturnType<typeof startDhtDaemon>>;
  try {
    daemon = await startDhtDaemon(config, log);
  } catch (err) {
    const message = (err as Error).message;
    log.fatal({ err: message }, 'dream-dht cannot start');
    // Binding and address problems come from the configuration (dht.host, dht.port, dht.api_port).
    process.exit(/bind|listen|IPv6|EADDR|EACCES/.test(message) ? EXIT_CONFIG : 1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => {
      log.warn('shutdown took too long; exiting now');
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    daemon.close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`dream-dht: unexpected error: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
