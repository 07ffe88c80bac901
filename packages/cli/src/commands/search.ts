/** `dream-cli search <query>`: titles in the catalog, best match first. */

import type { SearchResult } from '@dream/catalog/client';
import { loadConfig } from '@dream/config';
import type { Command } from 'commander';
import { catalogUrl, withCatalog } from '../catalog.js';
import { CliError } from '../errors.js';
import { bytes, duration } from '../format.js';
import { type GlobalOptions, output } from '../output.js';

export function formatResults(results: SearchResult[]): string {
  return results
    .map((r, i) => {
      const e = r.entry;
      const extra = [bytes(e.size), duration(e.durationSeconds)].filter(Boolean).join(', ');
      return `${String(i + 1).padStart(3)}. ${e.title}  (${extra})  ${e.infohash}`;
    })
    .join('\n');
}

export function registerSearchCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('search')
    .description('search the catalog by title (typos and word order forgiven)')
    .argument('<query...>', 'words of the title')
    .option('-n, --limit <n>', 'how many results', '20')
    .action(async (words: string[], opts: { limit: string }) => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      const query = words.join(' ').trim();
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw CliError.usage('--limit: expected a whole number from 1 to 100');
      const res = await withCatalog(config, (c) => c.search(query, { limit }));
      if (res.results.length === 0) throw CliError.nothingFound(query, catalogUrl(config));
      output(g, res, () => formatResults(res.results));
    });
}
