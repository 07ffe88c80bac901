/**
 * dream-dht's command line, parsed by hand (four flags do not need a parser library). Pure: returns
 * what to do, or a usage error the bin turns into exit code 2.
 */

export type ParsedArgs =
  | { kind: 'run'; config?: string; logLevel?: string }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

export const USAGE = `Usage: dream-dht [--config PATH] [--log-level LEVEL]

A mainline DHT node (BEP 5) with a local API on 127.0.0.1:dht.api_port.

Options:
  --config PATH      config file (default: $DREAM_CONFIG, else $XDG_CONFIG_HOME/dream/config.toml)
  --log-level LEVEL  trace, debug, info, warn, error, fatal or silent (default: general.log_level)
  -h, --help         show this help
  -V, --version      show the version
`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function parseArgs(argv: string[]): ParsedArgs {
  let config: string | undefined;
  let logLevel: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--config' || name === '--log-level') {
      let value: string | undefined;
      if (eq > 0 && name !== arg) value = arg.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined || value === '' || (value.startsWith('-') && name === arg)) {
        return { kind: 'error', message: `${name} needs a value` };
      }
      if (name === '--config') config = value;
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
      message: `unexpected argument ${JSON.stringify(arg)} (dream-dht takes no arguments)`,
    };
  }
  return { kind: 'run', config, logLevel };
}
