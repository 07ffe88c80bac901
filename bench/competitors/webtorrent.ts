// webtorrent-cli as a streaming client under test.
//
// `webtorrent download <file.torrent>` is what a user runs (with --mpv or --vlc, which only adds a
// player reading the same URL). It cannot be given a peer address, so it learns the seeder from a
// loopback tracker, listed in a copy of the .torrent (its `--announce` flag is ignored when given
// once: webtorrent only merges an array of extra trackers, and yargs makes an array only of a
// repeated flag). The info dictionary is untouched, so the info-hash is the same.
// webtorrent dials a tracker's IPv4 peers over uTP first and falls back to TCP only after three
// failed attempts (5 s connect timeouts plus back-off: about 40 s); the seeder (libtorrent with uTP
// off, which crawls on loopback) only speaks TCP. So, as a seeder does with a leecher it learns of
// from the tracker, the seeder dials webtorrent's TCP port as soon as it listens. Flags: --port for its HTTP server (it binds every interface; we read
// it on 127.0.0.1), --torrent-port so it is not a random one, --out a fresh directory so nothing is
// reused between runs, --keep-seeding so it does not exit when the download completes mid-measure,
// --quiet so its terminal UI (redrawn every second) costs no CPU.
// Its DHT, LSD and UPnP stay on, as a user has them: the CLI has no switch for them, and with no route
// to the Internet here they find nobody. The stream URL is webtorrent's `file.streamURL`:
// /webtorrent/<infohash>/<path in torrent>.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, waitForListening } from '../../packages/torrent-engine/test/peers/child.js';
import { spawnClient } from '../lib/child.js';
import type { Contender, LaunchedStream, StreamRequest } from '../lib/contender.js';
import { COMPETITORS_DIR, ensureCompetitorsInstalled, WEBTORRENT_BIN } from './paths.js';

export const webtorrent: Contender = {
  name: 'webtorrent-cli',
  async launch(request: StreamRequest): Promise<LaunchedStream> {
    ensureCompetitorsInstalled();
    const httpPort = await freePort();
    const torrentPort = await freePort();
    const out = join(request.workDir, 'out');
    await mkdir(out, { recursive: true });
    const torrentPath = join(request.workDir, 'with-tracker.torrent');
    await writeFile(torrentPath, withAnnounce(request.torrent, request.trackerUrl));
    const args = [
      WEBTORRENT_BIN,
      ...['download', torrentPath, '--out', out, '--port', String(httpPort)],
      ...['--torrent-port', String(torrentPort)],
      ...['--select', String(request.fileIndex), '--keep-seeding', '--quiet'],
      ...(request.mpv ? ['--mpv'] : []),
    ];
    const askedAt = performance.now();
    const child = spawnClient('webtorrent-cli', process.execPath, args, COMPETITORS_DIR, request.mpv?.env);
    // Not awaited: launch() returns at once; the dial happens when webtorrent listens (within 60 s).
    waitForListening(torrentPort, 60_000, '127.0.0.1').then(
      () => request.seederDial(torrentPort),
      () => {}, // it never listened: the measurement times out and reports webtorrent's output
    );
    const path = request.filePath.split('/').map(encodeURIComponent).join('/');
    return {
      askedAt,
      url: `http://127.0.0.1:${httpPort}/webtorrent/${request.infoHash}/${path}`,
      pid: child.pid,
      stop: child.stop,
      describe: child.describe,
    };
  },
};

/**
 * The .torrent with `announce` set to `url`: bencoded dictionary keys are sorted and "announce" sorts
 * before every other top-level key, so it goes right after the opening 'd'. Refuses a torrent that
 * already has one (ours never do).
 */
export function withAnnounce(torrent: Buffer, url: string): Buffer {
  if (torrent.subarray(0, 11).toString('latin1') === 'd8:announce')
    throw new Error('torrent already has a tracker');
  const entry = `8:announce${Buffer.byteLength(url)}:${url}`;
  return Buffer.concat([Buffer.from('d'), Buffer.from(entry), torrent.subarray(1)]);
}
