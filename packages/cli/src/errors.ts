/**
 * dream-cli's closed catalogue of errors (STYLE.md #6). Each has a code, an exit status and a
 * message that says what went wrong and how to fix it. README.md lists the exit statuses and a test
 * checks every code appears there.
 */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  daemonDown: 3,
  notFound: 4,
  playerMissing: 5,
  catalogUnreachable: 6,
  portInUse: 7,
  playerFailed: 8,
  interrupted: 130,
  config: 78,
} as const;

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }

  static usage(message: string): CliError {
    return new CliError('USAGE', message, EXIT.usage);
  }

  /** A torrent named by its infohash on the command line (`rm`, `limits --torrent`), lower-cased. */
  static checkInfohash(text: string, where = ''): string {
    if (!/^[0-9a-f]{40}$/i.test(text))
      throw CliError.usage(`${where}"${text}" is not an infohash (40 hex digits); see \`dream-cli ls\``);
    return text.toLowerCase();
  }

  static daemonDown(which: 'dream-dht' | 'dream-torrent', url: string): CliError {
    return new CliError(
      'DAEMON_NOT_RUNNING',
      `${which} is not running (nothing answers at ${url}). Start it with \`dream-cli daemon start\`, ` +
        `or \`systemctl --user start ${which}\` if you installed the systemd units.`,
      EXIT.daemonDown,
    );
  }

  static nothingFound(query: string, where: string): CliError {
    return new CliError(
      'NOTHING_FOUND',
      `No video matches "${query}" in the catalog at ${where}. Try fewer or different words, or \`dream-cli search\` to browse.`,
      EXIT.notFound,
    );
  }

  static playerMissing(player: string): CliError {
    return new CliError(
      'PLAYER_NOT_INSTALLED',
      `The player "${player}" is not installed or not on PATH. Install it (e.g. \`apt install mpv\`), ` +
        'choose another with --player (mpv, vlc), or use --print-url / --stdout.',
      EXIT.playerMissing,
    );
  }

  static catalogUnreachable(url: string, why: string): CliError {
    return new CliError(
      'CATALOG_UNREACHABLE',
      `The catalog at ${url} cannot be reached (${why}). Check network.catalog_url in your config, ` +
        'or that dream-torrent (the local catalog) is running.',
      EXIT.catalogUnreachable,
    );
  }

  static portInUse(what: string, port: number): CliError {
    return new CliError(
      'PORT_IN_USE',
      `Port ${port} (${what}) is already in use by another program. Stop it, or choose another port in your config.`,
      EXIT.portInUse,
    );
  }
}
