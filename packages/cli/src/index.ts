export { CliError, EXIT } from './errors.js';
export { findExecutable, launchPlayer, type PlayOptions, playerArgs } from './player.js';
export { buildProgram, runCli, VERSION } from './program.js';
