/** `dream-cli daemon start|stop|restart`: run the daemons without systemd. */
import { loadConfig } from '@dream/config';
import type { Command } from 'commander';
import { daemonSpecs, type StartResult, startDaemon, stopDaemon } from '../daemons.js';
import { type GlobalOptions, output } from '../output.js';

export function registerDaemonCommands(program: Command, globals: () => GlobalOptions): void {
  const daemon = program
    .command('daemon')
    .description('start or stop dream-dht and dream-torrent in the background (without systemd)');

  const start = async () => {
    const g = globals();
    const { config, file } = loadConfig({ path: g.config });
    const results: StartResult[] = [];
    // The DHT first: the engine announces its torrents through it as soon as it starts.
    for (const spec of daemonSpecs(config)) results.push(await startDaemon(config, spec, file));
    output(g, results, () =>
      results
        .map(
          (r) =>
            `${r.name}: ${r.alreadyRunning ? 'already running' : 'started'} (pid ${r.pid}, log ${r.log})`,
        )
        .join('\n'),
    );
  };
  const stop = async () => {
    const g = globals();
    const { config } = loadConfig({ path: g.config });
    const results: { name: string; stopped: boolean }[] = [];
    // Reverse order: the engine unannounces through the DHT while stopping.
    for (const spec of daemonSpecs(config).reverse()) {
      results.push({ name: spec.name, stopped: await stopDaemon(config, spec.name) });
    }
    output(g, results, () =>
      results.map((r) => `${r.name}: ${r.stopped ? 'stopped' : 'was not running'}`).join('\n'),
    );
  };

  daemon.command('start').description('start both daemons and wait until they answer').action(start);
  daemon.command('stop').description('stop both daemons (SIGTERM: state is saved)').action(stop);
  daemon
    .command('restart')
    .description('stop, then start')
    .action(async () => {
      await stop();
      await start();
    });
}
