// Where install.sh puts the competitors, and a check that it ran.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const COMPETITORS_DIR = dirname(fileURLToPath(import.meta.url));

export const WEBTORRENT_BIN = join(COMPETITORS_DIR, 'node_modules', 'webtorrent-cli', 'bin', 'cmd.js');
export const PEERFLIX_BIN = join(COMPETITORS_DIR, 'node_modules', 'peerflix', 'app.js');

let checked = false;

/**
 * Run install.sh once per process: it installs on a fresh machine (about 30 s), reinstalls when
 * package.json or the lock changed, and otherwise only checks that the native modules load.
 */
export function ensureCompetitorsInstalled(): void {
  if (checked && existsSync(WEBTORRENT_BIN) && existsSync(PEERFLIX_BIN)) return;
  execFileSync('sh', [join(COMPETITORS_DIR, 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  checked = true;
}
