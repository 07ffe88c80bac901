/**
 * What every Dream program does first: load the config, make the logger, report unknown keys, and
 * exit with EXIT_CONFIG (78) before binding anything when the config is wrong.
 */
import { ConfigError, EXIT_CONFIG, formatProblem } from './errors.js';
import { loadConfig } from './load.js';
import { createLogger, type Logger } from './logger.js';
import type { DreamConfig } from './types.js';

export interface DaemonStartup {
  config: DreamConfig;
  file: string | undefined;
  log: Logger;
}

export function startupConfig(
  name: string,
  flags: { config?: string | undefined; logLevel?: string | undefined },
): DaemonStartup {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ path: flags.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: invalid configuration\n${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const level = (flags.logLevel ?? loaded.config.general.log_level) as DreamConfig['general']['log_level'];
  const valid = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  if (!valid.includes(level)) {
    process.stderr.write(`${name}: --log-level: expected one of ${valid.join(', ')}, found "${level}"\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger({ name, level });
  for (const w of loaded.warnings) log.warn(formatProblem(w));
  log.debug({ file: loaded.file ?? '(none, defaults)' }, 'configuration loaded');
  return { config: loaded.config, file: loaded.file, log };
}
