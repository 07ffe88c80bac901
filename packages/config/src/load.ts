/**
 * Where the config comes from and how it is read. Precedence: an explicit --config PATH, then
 * $DREAM_CONFIG, then $XDG_CONFIG_HOME/dream/config.toml. An explicit path that does not exist is
 * an error (the user asked for it); a missing default file just means "all defaults".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, type ConfigProblem } from './errors.js';
import { locateKeys } from './locate.js';
import { configHome } from './schema.js';
import type { DreamConfig } from './types.js';
import { validate } from './validate.js';

/** A config file larger than this is not a config file; refuse it before parsing. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadOptions {
  /** --config PATH */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: DreamConfig;
  /** The file read, or undefined when none existed and defaults were used. */
  file: string | undefined;
  warnings: ConfigProblem[];
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), 'dream', 'config.toml');
}

export function resolveConfigPath(opts: LoadOptions = {}): { path: string; explicit: boolean } {
  const env = opts.env ?? process.env;
  if (opts.path) return { path: opts.path, explicit: true };
  if (env.DREAM_CONFIG) return { path: env.DREAM_CONFIG, explicit: true };
  return { path: defaultConfigPath(env), explicit: false };
}

/** Loads and validates the config. Throws ConfigError (exit code 78) listing every problem. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const { path, explicit } = resolveConfigPath(opts);
  let text: string | undefined;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CONFIG_BYTES) {
      throw fileProblem(path, `is ${buf.length} bytes; a config file is at most ${MAX_CONFIG_BYTES} bytes`);
    }
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) {
      const { config, problems, warnings } = validate({}, { env });
      if (problems.length) throw new ConfigError(problems);
      return { config, file: undefined, warnings };
    }
    if (code === 'ENOENT') {
      throw fileProblem(path, 'does not exist. Create it with `dream-cli config init`, or fix the path');
    }
    if (code === 'EISDIR') throw fileProblem(path, 'is a directory; expected a TOML file');
    if (code === 'EACCES') throw fileProblem(path, 'cannot be read (permission denied)');
    if (err instanceof TypeError) throw fileProblem(path, 'is not valid UTF-8 text; a config file is TOML');
    throw fileProblem(path, `cannot be read: ${(err as Error).message}`);
  }
  return loadConfigText(text, path, env);
}

/** Validates TOML text as if read from `file` (used by tests and `dream-cli config show`). */
export function loadConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError([
        { file, line: err.line, key: undefined, message: `not valid TOML: ${first} (column ${err.column})` },
      ]);
    }
    throw err;
  }
  const { config, problems, warnings } = validate(doc, { file, lines: locateKeys(text), env });
  if (problems.length) throw new ConfigError(problems);
  return { config, file, warnings };
}

function fileProblem(file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: undefined, key: undefined, message: `config file ${message}` }]);
}
