import { readFileSync } from 'node:fs';
/**
 * The command line every Dream daemon takes (--config, --log-level, --help, --version), parsed by
 * hand: four flags do not need a parser library. Pure: it returns what to do, or a usage error the
 * bin turns into exit code 2.
 */

export type DaemonArgs =
  | { kind: 'run'; config?: string; logLevel?: string }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function daemonUsage(name: string, description: string): string {
  return `Usage: ${name} [--config PATH] [--log-level LEVEL]

${description}

Options:
  --config PATH      config file (default: $DREAM_CONFIG, else $XDG_CONFIG_HOME/dream/config.toml)
  --log-level LEVEL  trace, debug, info, warn, error, fatal or silent (default: general.log_level)
  -h, --help         show this help
  -V, --version      show the version
`;
}

export function parseDaemonArgs(name: string, argv: string[]): DaemonArgs {
  let config: string | undefined;
  let logLevel: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--config' || flag === '--log-level') {
      const value = eq > 0 && flag !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (value.startsWith('-') && flag === arg)) {
        return { kind: 'error', message: `${flag} needs a value` };
      }
      if (flag === '--config') config = value;
      else if (!LEVELS.includes(value)) {
        return {
          kind: 'error',
          message: `--log-level: expected one of ${LEVELS.join(', ')}, found "${value}"`,
        };
      } else logLevel = value;
      continue;
    }
    if (arg.startsWith('-')) return { kind: 'error', message: `unknown option ${JSON.stringify(arg)}` };
    return {
      kind: 'error',
      message: `unexpected argument ${JSON.stringify(arg)} (${name} takes no arguments)`,
    };
  }
  return { kind: 'run', config, logLevel };
}

/**
 * What a daemon's main() does with its command line: prints help or the version and exits 0, or
 * prints a usage error and exits 2; otherwise returns the flags to run with.
 */
export function daemonArgsOrExit(
  name: string,
  description: string,
  packageJson: URL,
  argv: string[] = process.argv.slice(2),
): { config?: string; logLevel?: string } {
  const usage = daemonUsage(name, description);
  const args = parseDaemonArgs(name, argv);
  if (args.kind === 'help') {
    process.stdout.write(usage);
    process.exit(0);
  }
  if (args.kind === 'version') {
    const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
    process.stdout.write(`${name} ${version}\n`);
    process.exit(0);
  }
  if (args.kind === 'error') {
    process.stderr.write(`${name}: ${args.message}\n\n${usage}`);
    process.exit(2);
  }
  return { config: args.config, logLevel: args.logLevel };
}
