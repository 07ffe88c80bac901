/** `dream-cli config init|show|path`: where the config is, what it says, and a documented starter. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig, renderExampleConfig, resolveConfigPath } from '@dream/config';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { type GlobalOptions, output } from '../output.js';

export function registerConfigCommands(program: Command, globals: () => GlobalOptions): void {
  const config = program.command('config').description('show, locate or create the configuration file');

  config
    .command('path')
    .description('print the config file path in use (--config, $DREAM_CONFIG, or the XDG default)')
    .action(() => {
      const g = globals();
      const { path, explicit } = resolveConfigPath({ path: g.config });
      const exists = existsSync(path);
      output(g, { path, exists, explicit }, () =>
        exists ? path : `${path} (does not exist: every key takes its default)`,
      );
    });

  config
    .command('show')
    .description('print the effective configuration (file values over defaults)')
    .action(() => {
      const g = globals();
      const { config: effective, file, warnings } = loadConfig({ path: g.config });
      output(g, { file: file ?? null, config: effective, warnings }, () => {
        const lines = [`# file: ${file ?? '(none: defaults)'}`];
        for (const w of warnings) lines.push(`# warning: ${w.key}: ${w.message}`);
        for (const [section, keys] of Object.entries(effective)) {
          lines.push('', `[${section}]`);
          for (const [k, v] of Object.entries(keys as Record<string, unknown>))
            lines.push(`${k} = ${JSON.stringify(v)}`);
        }
        return lines.join('\n');
      });
    });

  config
    .command('init')
    .description('write a documented config.toml with every key at its default')
    .option('--force', 'overwrite an existing file')
    .action((opts: { force?: boolean }) => {
      const g = globals();
      const { path } = resolveConfigPath({ path: g.config });
      if (existsSync(path) && !opts.force) {
        throw CliError.usage(`${path} already exists; not overwriting it. Use --force to replace it.`);
      }
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, renderExampleConfig(), { mode: 0o644 });
      output(g, { path, written: true }, () => `wrote ${path}`);
    });
}
