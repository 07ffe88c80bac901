/** dream-dht's command line: the flags every Dream daemon takes (see @dream/config daemon-args). */
import { type DaemonArgs, daemonUsage, parseDaemonArgs } from '@dream/config';

export type ParsedArgs = DaemonArgs;

export const DESCRIPTION = 'A mainline DHT node (BEP 5) with a local API on 127.0.0.1:dht.api_port.';

export const USAGE = daemonUsage('dream-dht', DESCRIPTION);

export function parseArgs(argv: string[]): ParsedArgs {
  return parseDaemonArgs('dream-dht', argv);
}
