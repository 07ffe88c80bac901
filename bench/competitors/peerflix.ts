// peerflix as a streaming client under test.
//
// `peerflix <file.torrent>` is what a user runs (with --vlc or --mpv to add a player reading the same
// URL). The seeder is given directly with --peer. Flags: --hostname 127.0.0.1 and --port for its HTTP
// server, --peer-port so it is not a random one, --path a fresh buffer directory (the default is a
// shared /tmp/torrent-stream that would carry data between runs), --index the file, --quiet so its
// terminal UI costs no CPU. Its DHT stays on, as a user has it (no switch; nobody is reachable here).
// It serves the selected file at / and at /<index>.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../packages/torrent-engine/test/peers/child.js';
import { spawnClient } from '../lib/child.js';
import type { Contender, LaunchedStream, StreamRequest } from '../lib/contender.js';
import { COMPETITORS_DIR, ensureCompetitorsInstalled, PEERFLIX_BIN } from './paths.js';

export const peerflix: Contender = {
  name: 'peerflix',
  async launch(request: StreamRequest): Promise<LaunchedStream> {
    ensureCompetitorsInstalled();
    const httpPort = await freePort();
    const peerPort = await freePort();
    const buffer = join(request.workDir, 'buffer');
    await mkdir(buffer, { recursive: true });
    const args = [
      PEERFLIX_BIN,
      request.torrentPath,
      ...['--hostname', '127.0.0.1', '--port', String(httpPort), '--peer-port', String(peerPort)],
      ...['--peer', `${request.peer.host}:${request.peer.port}`, '--path', buffer],
      ...['--index', String(request.fileIndex), '--quiet'],
      ...(request.mpv ? ['--mpv'] : []),
    ];
    const askedAt = performance.now();
    const child = spawnClient('peerflix', process.execPath, args, COMPETITORS_DIR, request.mpv?.env);
    return {
      askedAt,
      url: `http://127.0.0.1:${httpPort}/${request.fileIndex}`,
      pid: child.pid,
      stop: child.stop,
      describe: child.describe,
    };
  },
};
