export { ConfigError, type ConfigProblem, EXIT_CONFIG, formatProblem } from './errors.js';
export { renderExampleConfig } from './example.js';
export type { LoadedConfig, LoadOptions } from './load.js';
export { defaultConfigPath, loadConfig, loadConfigText, resolveConfigPath } from './load.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { configHome, dataHome, PUBLIC_BOOTSTRAP_NODES, SCHEMA, stateHome } from './schema.js';
export { type DaemonStartup, startupConfig } from './startup.js';
export type { DreamConfig } from './types.js';
export { parseHostPort } from './validate.js';
