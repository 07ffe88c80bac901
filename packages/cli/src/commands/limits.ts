/** `dream-cli limits`: show or change dream-torrent's rate limits, engine-wide or for one torrent. */

import { loadConfig } from '@dream/config';
import type { Command } from 'commander';
import { EngineApi } from '../engine-api.js';
import { CliError } from '../errors.js';
import { type GlobalOptions, output } from '../output.js';
import { formatRate, parseRate } from '../rate.js';

interface Limits {
  upload: number;
  download: number;
}

function rateOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseRate(text);
  } catch (err) {
    throw CliError.usage(`${flag}: ${(err as Error).message}`);
  }
}

export function registerLimitsCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('limits')
    .description("show or change dream-torrent's download and upload limits (live, until it restarts)")
    .option('--down <rate>', 'download limit, bytes per second: 500k, 4MiB, 2.5MB/s; 0 or none for no limit')
    .option('--up <rate>', 'upload limit, same units')
    .option('--torrent <infohash>', "one torrent's own limits (applied together with the engine-wide ones)")
    .action(async (opts: { down?: string; up?: string; torrent?: string }) => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      const download = rateOption('--down', opts.down);
      const upload = rateOption('--up', opts.up);
      const infohash =
        opts.torrent === undefined ? undefined : CliError.checkInfohash(opts.torrent, '--torrent: ');
      const path = infohash ? `/api/torrents/${infohash}/limits` : '/api/limits';
      const engine = new EngineApi(config);
      const change = {
        ...(download !== undefined ? { download } : {}),
        ...(upload !== undefined ? { upload } : {}),
      };
      const changed = Object.keys(change).length > 0;
      const limits = changed
        ? await engine.call<Limits>('PUT', path, change)
        : await engine.call<Limits>('GET', path);
      output(g, { scope: infohash ?? 'engine', ...limits }, () => {
        const scope = infohash ? `torrent ${infohash}` : 'all torrents';
        const lines = [
          `${scope}: download ${formatRate(limits.download)}, upload ${formatRate(limits.upload)}`,
        ];
        // The API's change is live and not saved: say where the lasting setting is.
        if (changed && !infohash) {
          lines.push(
            'until dream-torrent restarts; to keep it, set torrent.download_rate_limit / upload_rate_limit in config.toml',
          );
        }
        // A torrent's own limits are saved with its resume data: nothing to add.
        return lines.join('\n');
      });
    });
}
