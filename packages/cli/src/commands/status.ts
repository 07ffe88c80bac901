/** `dream-cli status`, `ls` and `rm`: what the daemons are doing, and removing a torrent. */

import { loadOrCreateSigningKey, signDelete } from '@dream/catalog/client';
import { loadConfig } from '@dream/config';
import { DhtClient, type DhtStatus } from '@dream/dht/client';
import type { Command } from 'commander';
import { catalogUrl, withCatalog } from '../catalog.js';
import { EngineApi, type TorrentSummary } from '../engine-api.js';
import { CliError } from '../errors.js';
import { bytes } from '../format.js';
import { type GlobalOptions, output } from '../output.js';

export function formatTorrents(torrents: TorrentSummary[]): string {
  if (torrents.length === 0) return 'no torrents';
  return torrents
    .map(
      (t) =>
        `${t.infohash}  ${t.state.padEnd(11)} ${(t.progress * 100).toFixed(1).padStart(5)}%  ` +
        `${String(t.peers).padStart(3)} peers  down ${bytes(t.downloadRate)}/s  up ${bytes(t.uploadRate)}/s  ${t.name ?? ''}`,
    )
    .join('\n');
}

export function registerStatusCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('status')
    .description("both daemons' health, DHT nodes, torrents, peers and rates")
    .action(async () => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      const engine = new EngineApi(config);
      const dhtUrl = `http://127.0.0.1:${config.dht.api_port}`;
      const [dht, torrents, catalog] = await Promise.all([
        config.dht.enabled
          ? new DhtClient({ apiUrl: dhtUrl }).status().then(
              (s): DhtStatus | string => s,
              () => 'not running (start it with `dream-cli daemon start`)',
            )
          : Promise.resolve('disabled (dht.enabled = false)'),
        engine.list().then(
          (r) => r.torrents,
          (e: Error) => e.message,
        ),
        withCatalog(config, (c) => c.recent(1)).then(
          () => 'reachable',
          (e: Error) => `unreachable: ${e.message}`,
        ),
      ]);
      // The web UI is dream-torrent's own page: worth a line only while it answers.
      const webUi = typeof torrents === 'string' ? undefined : `${engine.base}/`;
      const report = { dht, torrents, webUi, catalog: { url: catalogUrl(config), state: catalog } };
      output(g, report, () => {
        const lines: string[] = [];
        if (typeof dht === 'string') lines.push(`dream-dht:     ${dht}`);
        else {
          lines.push(
            `dream-dht:     running, node ${dht.nodeId.slice(0, 12)}…, ${dht.tableSize} nodes (${dht.goodNodes} good), ` +
              `${dht.announced} announced, ${dht.storedPeers} peers stored, UDP ${dht.udpPort}, up ${Math.round(dht.uptimeSeconds)} s` +
              `${dht.bootstrapped ? '' : ' (still bootstrapping)'}`,
          );
        }
        if (typeof torrents === 'string') lines.push(`dream-torrent: ${torrents}`);
        else {
          const down = torrents.reduce((a, t) => a + t.downloadRate, 0);
          const up = torrents.reduce((a, t) => a + t.uploadRate, 0);
          lines.push(
            `dream-torrent: running, ${torrents.length} torrents, down ${bytes(down)}/s, up ${bytes(up)}/s, web UI ${webUi}`,
          );
          if (torrents.length) lines.push(formatTorrents(torrents));
        }
        lines.push(`catalog:       ${catalogUrl(config)} ${catalog}`);
        return lines.join('\n');
      });
      if (typeof torrents === 'string' && typeof dht === 'string' && config.dht.enabled) {
        throw CliError.daemonDown('dream-torrent', engine.base);
      }
    });

  program
    .command('ls')
    .description('the torrents in dream-torrent')
    .action(async () => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      const { torrents } = await new EngineApi(config).list();
      output(g, torrents, () => formatTorrents(torrents));
    });

  program
    .command('rm')
    .description('stop seeding a torrent (and optionally delete downloaded data or unpublish it)')
    .argument('<infohash>', 'the torrent (see `dream-cli ls`)')
    .option('--delete-data', 'also delete the files it downloaded (never a file you uploaded from elsewhere)')
    .option('--unpublish', 'also remove your catalog entry for it')
    .action(async (infohash: string, opts: { deleteData?: boolean; unpublish?: boolean }) => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      const ih = CliError.checkInfohash(infohash);
      await new EngineApi(config).remove(ih, opts.deleteData ?? false);
      if (opts.unpublish) {
        const key = await loadOrCreateSigningKey(config.general.state_dir);
        await withCatalog(config, (c) => c.remove(signDelete(key, ih)));
      }
      output(
        g,
        { removed: ih, deletedData: Boolean(opts.deleteData), unpublished: Boolean(opts.unpublish) },
        () =>
          `removed ${ih}${opts.deleteData ? ' and its downloaded data' : ''}${opts.unpublish ? ', unpublished' : ''}`,
      );
    });
}
