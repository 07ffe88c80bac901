/**
 * The logger every Dream program uses: pino, human-readable on a terminal, JSON lines otherwise
 * (journald, files, pipes). Pretty printing runs in-process (no transport worker), so a daemon
 * killed with SIGKILL loses no buffered line.
 */
import { type LevelWithSilent, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level: LevelWithSilent;
  /** Force a format; by default pretty when stderr is a terminal. */
  pretty?: boolean;
  /** Where lines go; stderr by default, so stdout stays clean for data (dream-cli --json). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? process.stderr;
  const usePretty = opts.pretty ?? Boolean((dest as { isTTY?: boolean }).isTTY);
  const base = { name: opts.name, level: opts.level };
  if (usePretty) {
    return pino(base, pretty({ destination: dest, colorize: true, sync: true, ignore: 'pid,hostname' }));
  }
  return pino(base, dest === process.stderr ? pino.destination({ fd: 2, sync: true }) : dest);
}
