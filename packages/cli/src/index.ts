export { CliError, EXIT } from './errors.js';
export { faststart, sampleClip } from './ffmpeg.js';
export { type MoovPosition, moovPosition } from './mp4.js';
export { findExecutable, launchPlayer, type PlayOptions, playerArgs } from './player.js';
export { buildProgram, runCli, VERSION } from './program.js';
