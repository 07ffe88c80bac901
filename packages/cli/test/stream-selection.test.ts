// `dream-cli stream` on a season pack: the episode it plays and the subtitles it hands the player
// are fetched; the other episodes are not (peerflix does the same; before, the engine's background
// download fetched the whole pack while one episode played). Real daemons, a real libtorrent
// seeder, a hybrid v1+v2 torrent made by libtorrent (pad files, so the engine's file indices and
// the stream listing's differ, as in real users' torrents), and a stand-in "mpv" that reads its
// stream and subtitle URLs to the end and records what it got.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type MadeTorrent, makeTorrent } from '../../torrent-engine/test/peers/fixtures.js';
import { startLibtorrent } from '../../torrent-engine/test/peers/libtorrent.js';
import { makeClip } from '../../torrent-engine/test/streaming-helpers.js';
import { EXIT } from '../src/index.js';
import { nodeForThisFile } from './fixtures/dream-node.js';

const dir = mkdtempSync(join(tmpdir(), 'dream-stream-selection-'));
const dreamNode = nodeForThisFile(dir);

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** A pack folder: the episode to play (the largest video), its subtitles, two other episodes. */
async function makePack(name: string): Promise<string> {
  const pack = join(dir, name);
  mkdirSync(pack, { recursive: true });
  // 12 s at 2 Mbit/s: about 3 MiB, larger than the other "episodes", so it is the one played.
  copyFileSync(await makeClip({ seconds: 12, faststart: false, bitrate: '2M' }), join(pack, 'e01.mp4'));
  writeFileSync(join(pack, 'e01.srt'), `1\n00:00:00,000 --> 00:00:02,000\n${name}\n`);
  for (const ep of ['e02.mkv', 'e03.mkv']) {
    writeFileSync(join(pack, ep), Buffer.alloc(1024 * 1024 + 4321, ep));
  }
  return pack;
}

/**
 * Named mpv, so dream-cli passes it mpv's arguments (--sub-file=<url> ... -- <url>). It reads
 * every URL to the end and writes "<sha1> <url>" lines to `record`.
 */
function fetchingMpv(record: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const path = join(bin, 'mpv');
  writeFileSync(
    path,
    `#!${process.execPath}
const { createHash } = require('node:crypto');
const { appendFileSync } = require('node:fs');
const args = process.argv.slice(2);
const urls = [...args.filter((a) => a.startsWith('--sub-file=')).map((a) => a.slice(11)), args[args.length - 1]];
(async () => {
  for (const url of urls) {
    const res = await fetch(url);
    if (!res.ok) process.exit(3);
    const body = Buffer.from(await res.arrayBuffer());
    appendFileSync(process.env.FETCHING_MPV_RECORD, createHash('sha1').update(body).digest('hex') + ' ' + url + '\\n');
  }
})().catch(() => process.exit(4));
`,
  );
  chmodSync(path, 0o755);
  return path;
}

interface Detail {
  files: { index: number; path: string; length: number; bytes: number; selected: boolean; pad: boolean }[];
}

async function streamPack(target: string, seederPort: number, record: string, more: string[] = []) {
  const n = dreamNode();
  const child = n.spawnCli(
    ['stream', target, '--peer', `127.0.0.1:${seederPort}`, '--player', fetchingMpv(record), ...more],
    { FETCHING_MPV_RECORD: record },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { status, stderr };
}

async function detailOf(infohash: string): Promise<Detail> {
  const res = await fetch(`${dreamNode().streamBase}/api/torrents/${infohash}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Detail;
}

/**
 * A pack as a libtorrent-made hybrid torrent (written to `<name>.torrent` too), seeded by a real
 * libtorrent for the length of `body`.
 */
async function withSeededPack(
  name: string,
  body: (p: { pack: string; made: MadeTorrent; torrentPath: string; seederPort: number }) => Promise<void>,
): Promise<void> {
  const pack = await makePack(name);
  const made = await makeTorrent({ source: pack, flavour: 'libtorrent-hybrid', pieceLength: 256 * 1024 });
  const torrentPath = join(dir, `${name}.torrent`);
  writeFileSync(torrentPath, made.torrent);
  const seeder = await startLibtorrent({ savePath: dir, torrent: made.torrent });
  try {
    await body({ pack, made, torrentPath, seederPort: seeder.port });
  } finally {
    await seeder.stop();
  }
}

const visible = (d: Detail) => d.files.filter((f) => !f.pad);
const selectedNames = (d: Detail) =>
  visible(d)
    .filter((f) => f.selected)
    .map((f) => f.path.split('/').pop());
const byName = (d: Detail, name: string) => visible(d).find((f) => f.path.endsWith(`/${name}`));

describe('dream-cli stream on a season pack', () => {
  it('from a .torrent: fetches the episode it plays and its subtitles, not the other episodes', async () => {
    await withSeededPack('pack-a', async ({ pack, made, torrentPath, seederPort }) => {
      const record = join(dir, 'record-a.txt');
      const r = await streamPack(torrentPath, seederPort, record);
      expect(r.status, r.stderr).toBe(EXIT.ok);
      // The player got the episode and the subtitles, byte for byte.
      const got = readFileSync(record, 'utf8').trim().split('\n');
      expect(got.map((l) => l.split(' ')[0])).toEqual([
        sha1(readFileSync(join(pack, 'e01.srt'))),
        sha1(readFileSync(join(pack, 'e01.mp4'))),
      ]);
      const d = await detailOf(made.infoHash);
      expect(d.files.some((f) => f.pad)).toBe(true); // the index mapping was exercised
      expect(selectedNames(d)).toEqual(['e01.mp4', 'e01.srt']);
      // Pad files align every file to a piece: not one byte of the other episodes was fetched.
      expect(byName(d, 'e02.mkv')?.bytes).toBe(0);
      expect(byName(d, 'e03.mkv')?.bytes).toBe(0);
      expect(byName(d, 'e01.mp4')?.bytes).toBe(byName(d, 'e01.mp4')?.length);

      // Another episode, by part of its name: the stream adds it to the selection (the engine's rule
      // for a file a player opens), and still not e02.
      const record3 = join(dir, 'record-a3.txt');
      const third = await streamPack(torrentPath, seederPort, record3, ['--file', 'E03']);
      expect(third.status, third.stderr).toBe(EXIT.ok);
      expect(readFileSync(record3, 'utf8').split(' ')[0]).toBe(sha1(readFileSync(join(pack, 'e03.mkv'))));
      const after = await detailOf(made.infoHash);
      expect(selectedNames(after)).toEqual(['e01.mp4', 'e01.srt', 'e03.mkv']);
      expect(byName(after, 'e02.mkv')?.bytes).toBe(0);
    });
  });

  it('from a bare infohash: the same once the metadata is in; a second stream keeps that selection', async () => {
    await withSeededPack('pack-b', async ({ made, seederPort }) => {
      const r = await streamPack(made.infoHash, seederPort, join(dir, 'record-b.txt'));
      expect(r.status, r.stderr).toBe(EXIT.ok);
      const d = await detailOf(made.infoHash);
      expect(selectedNames(d)).toEqual(['e01.mp4', 'e01.srt']);
      expect(byName(d, 'e01.mp4')?.bytes).toBe(byName(d, 'e01.mp4')?.length);
      // Already added: dream-cli leaves the selection as it is (here, as the first stream left it).
      const again = await streamPack(made.infoHash, seederPort, join(dir, 'record-b2.txt'));
      expect(again.status, again.stderr).toBe(EXIT.ok);
      expect(selectedNames(await detailOf(made.infoHash))).toEqual(['e01.mp4', 'e01.srt']);
      expect(again.stderr).not.toContain('resumed');
    });
  });

  it('resumes a torrent that was paused, rather than leave the player waiting for pieces', async () => {
    await withSeededPack('pack-c', async ({ pack, made, torrentPath, seederPort }) => {
      const add = await fetch(`${dreamNode().streamBase}/api/torrents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ torrent: made.torrent.toString('base64'), paused: true }),
      });
      expect(add.status).toBe(201);
      const record = join(dir, 'record-c.txt');
      const r = await streamPack(made.infoHash, seederPort, record);
      expect(r.status, r.stderr).toBe(EXIT.ok);
      expect(r.stderr).toContain('pack-c was paused in dream-torrent: resumed');
      expect(readFileSync(record, 'utf8')).toContain(sha1(readFileSync(join(pack, 'e01.mp4'))));
      const d = (await detailOf(made.infoHash)) as Detail & { state: string };
      expect(d.state).not.toBe('paused');
      // Added by the user with every file selected: streaming does not narrow it.
      expect(visible(d).every((f) => f.selected)).toBe(true);
      // Paused again with the episode on disk: it plays from there and the torrent stays paused.
      const pause = await fetch(`${dreamNode().streamBase}/api/torrents/${made.infoHash}/pause`, {
        method: 'POST',
      });
      expect(pause.status).toBe(200);
      const fromDisk = await streamPack(torrentPath, seederPort, join(dir, 'record-c2.txt'));
      expect(fromDisk.status, fromDisk.stderr).toBe(EXIT.ok);
      expect(fromDisk.stderr).not.toContain('resumed');
      expect(readFileSync(join(dir, 'record-c2.txt'), 'utf8')).toContain(
        sha1(readFileSync(join(pack, 'e01.mp4'))),
      );
      expect(((await detailOf(made.infoHash)) as Detail & { state: string }).state).toBe('paused');
    });
  });
});
