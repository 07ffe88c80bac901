/**
 * Configuration errors. A bad config is a user's mistake, so the message names the file, the line,
 * the key, what was expected and what was found, and says how to fix it.
 */

/** Process exit code for a configuration error (sysexits.h EX_CONFIG). Documented in README. */
export const EXIT_CONFIG = 78;

export interface ConfigProblem {
  file: string | undefined;
  line: number | undefined;
  /** "section.key", or undefined for a whole-file problem such as a TOML syntax error. */
  key: string | undefined;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'DREAM_CONFIG_INVALID';
  readonly exitCode = EXIT_CONFIG;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}` : '(built-in)';
  return `${where}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}
