/**
 * The logger every Dream program uses: pino, human-readable on a terminal, JSON lines otherwise
 * (journald, files, pipes). Pretty printing runs in-process (no transport worker), so a daemon
 * killed with SIGKILL loses no buffered line.
 */
import { createRequire } from 'node:module';
import type { LevelWithSilent, Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level: LevelWithSilent;
  /** Force a format; by default pretty when stderr is a terminal. */
  pretty?: boolean;
  /** Where lines go; stderr by default, so stdout stays clean for data (dream-cli --json). */
  destination?: NodeJS.WritableStream;
}

// pino and pino-pretty load on the first createLogger call, not at import: dream-cli imports this
// package for its config loader, and the two cost ~50 ms of start-up on every command it runs.
const require = createRequire(import.meta.url);

export function createLogger(opts: LoggerOptions): Logger {
  const { pino } = require('pino') as typeof import('pino');
  const dest = opts.destination ?? process.stderr;
  const usePretty = opts.pretty ?? Boolean((dest as { isTTY?: boolean }).isTTY);
  const base = { name: opts.name, level: opts.level };
  if (usePretty) {
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino(base, pretty({ destination: dest, colorize: true, sync: true, ignore: 'pid,hostname' }));
  }
  return pino(base, dest === process.stderr ? pino.destination({ fd: 2, sync: true }) : dest);
}
