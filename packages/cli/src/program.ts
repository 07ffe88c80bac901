/**
 * The dream-cli command tree. Kept apart from the bin so tests can run commands in-process.
 */

import { ConfigError } from '@dream/config';
import { Command, CommanderError } from 'commander';
import { registerConfigCommands } from './commands/config.js';
import { registerDaemonCommands } from './commands/daemon.js';
import { registerLimitsCommand } from './commands/limits.js';
import { registerSearchCommand } from './commands/search.js';
import { registerStatusCommands } from './commands/status.js';
import { registerStreamCommand } from './commands/stream.js';
import { registerUploadCommand } from './commands/upload.js';
import { CliError, EXIT } from './errors.js';
import type { GlobalOptions } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('dream-cli')
    .description('Dream: publish and stream video peer to peer, over BitTorrent, without a central server')
    .version(VERSION)
    .option(
      '-c, --config <path>',
      'config file (default: $DREAM_CONFIG or $XDG_CONFIG_HOME/dream/config.toml)',
    )
    .option('--json', 'machine-readable output')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerConfigCommands(program, globals);
  registerDaemonCommands(program, globals);
  registerSearchCommand(program, globals);
  registerUploadCommand(program, globals);
  registerStreamCommand(program, globals);
  registerStatusCommands(program, globals);
  registerLimitsCommand(program, globals);
  return program;
}

/** Runs the CLI; returns the exit status instead of exiting, and prints errors to stderr. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are printed by commander and exit 0; other parse errors are usage errors.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`dream-cli: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`dream-cli: invalid configuration\n${err.message}\n`);
      return EXIT.config;
    }
    process.stderr.write(`dream-cli: unexpected error (please report it): ${(err as Error).stack ?? err}\n`);
    return EXIT.unexpected;
  }
}
