// dream-cli against one real node (dream-dht + dream-torrent, its own catalog): the paths of
// upload and stream that the two-node test does not take. Every command runs as a user types it.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CatalogClient, loadOrCreateSigningKey, signEntry } from '@dream/catalog/client';
import { createTorrent } from '@dream/torrent-engine';
import { describe, expect, it } from 'vitest';
import { startLibtorrent } from '../../torrent-engine/test/peers/libtorrent.js';
import { EXIT, moovPosition, sampleClip } from '../src/index.js';
import { nodeForThisFile } from './fixtures/dream-node.js';

const dir = mkdtempSync(join(tmpdir(), 'dream-cli-node-'));
const dreamNode = nodeForThisFile(dir);

function run(args: string[], timeoutMs = 120_000) {
  return new Promise<{ status: number | null; stdout: Buffer; stderr: string }>((resolve) => {
    const child = dreamNode().spawnCli(args);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out), stderr });
    });
  });
}
const json = async (args: string[]) => {
  const r = await run(['--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.toString());
};

/**
 * A stand-in player: it records its pid and arguments, then waits like a player showing a video.
 * `started()` resolves with them once it runs (within 30 s).
 */
function recordingPlayer(name: string) {
  const record = join(dir, `${name}.json`);
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ pid: process.pid, args: process.argv.slice(2) }));\nsetInterval(() => {}, 1000);\n`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    /** Pids of processes still running this player (from /proc). */
    running(): number[] {
      return readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
          } catch {
            return false; // gone meanwhile
          }
        })
        .map(Number);
    },
    async started(): Promise<{ pid: number; args: string[] }> {
      for (let i = 0; i < 300 && !existsSync(record); i++) await new Promise((r) => setTimeout(r, 100));
      return JSON.parse(readFileSync(record, 'utf8'));
    },
  };
}

describe('upload', () => {
  it('warns about a trailing moov, and --faststart seeds a remuxed copy, leaving the original alone', async () => {
    const late = join(dir, 'late.mp4');
    await sampleClip(late, 3, { moovAtEnd: true, size: '160x90' });
    const warned = await run(['upload', late, 'Late Index Clip']);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr).toContain('keeps its index (moov) at the end');
    const fixed = await run(['--json', 'upload', '--faststart', late, 'Late Index Clip Fixed']);
    expect(fixed.status, fixed.stderr).toBe(0);
    const out = JSON.parse(fixed.stdout.toString());
    expect(out.seeding).toBe(join(dir, 'late.faststart.mp4'));
    expect(await moovPosition(out.seeding)).toBe('start');
    expect(await moovPosition(late)).toBe('end');
  });

  it('indexes a .torrent file and refuses a broken one with the reason', async () => {
    const content = join(dir, 'pack');
    mkdirSync(content);
    await sampleClip(join(content, 'episode.mp4'), 3, { size: '160x90' });
    writeFileSync(join(content, 'episode.en.srt'), '1\n00:00:00,000 --> 00:00:02,000\nHello\n');
    // The folder is seeded in place; its .torrent, uploaded after, is indexed under a new title
    // (same infohash: the engine already has it, the catalog entry is updated).
    const seeded = await json(['upload', content, 'Subtitled Episode (folder)']);
    const { torrent, meta } = await createTorrent(content);
    expect(seeded.infohash).toBe(meta.infohash);
    writeFileSync(join(dir, 'pack.torrent'), torrent);
    const r = await json(['upload', join(dir, 'pack.torrent'), 'Subtitled Episode']);
    expect(r).toMatchObject({ infohash: meta.infohash, catalog: 'updated', alreadySeeding: true });
    writeFileSync(join(dir, 'broken.torrent'), 'd4:infoi1ee');
    const bad = await run(['upload', join(dir, 'broken.torrent'), 'Broken']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('is not a usable .torrent');
  });

  it('--hybrid publishes a v1+v2 torrent; a folder is refused with the reason and nothing is published', async () => {
    const clip = join(dir, 'hybrid.mp4');
    await sampleClip(clip, 3, { size: '160x90' });
    const r = await json(['upload', '--hybrid', clip, 'Hybrid Clip']);
    expect(r.magnet).toContain(`xt=urn:btih:${r.infohash}`);
    expect(r.magnet).toMatch(/xt=urn:btmh:1220[0-9a-f]{64}/);
    const detail = await (await fetch(`${dreamNode().streamBase}/api/torrents/${r.infohash}`)).json();
    expect(detail).toMatchObject({ progress: 1, state: 'seeding' });
    const pack = join(dir, 'hybrid-pack');
    mkdirSync(pack);
    writeFileSync(join(pack, 'a.mkv'), randomBytes(1000));
    const bad = await run(['upload', '--hybrid', pack, 'Hybrid Pack Refused']);
    expect(bad.status).toBe(EXIT.usage);
    expect(bad.stderr).toContain('hybrid v1+v2 torrents are made for single files only');
    expect(bad.stderr).not.toContain('unexpected error');
    const found = (await json(['search', 'Hybrid Pack Refused'])).results as { entry: { title: string } }[];
    expect(found.map((x) => x.entry.title)).not.toContain('Hybrid Pack Refused');
  });

  it('reads the file once: dream-torrent seeds on the hashing dream-cli did', async () => {
    const pid = Number(readFileSync(join(dir, 'node', 'state', 'run', 'dream-torrent.pid'), 'utf8'));
    // rchar: every byte the daemon read through read(2), page cache hits and sockets included.
    const readByDaemon = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
    const size = 24 * 1024 * 1024;
    // A video written an hour ago, as most are; and one written just now (a --faststart copy, a
    // recording just saved), which dream-cli hashes once it is 2 s old: a write in the same clock
    // tick as the first stat could go unseen, and the daemon would have to hash it again.
    for (const [name, age] of [
      ['hashed-once-old.bin', 3_600_000],
      ['hashed-once-new.bin', 0],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, randomBytes(size));
      if (age > 0) utimesSync(file, new Date(Date.now() - age), new Date(Date.now() - age));
      const before = readByDaemon();
      const r = await json(['upload', file, `Hashed Once ${name}`]);
      const read = readByDaemon() - before;
      const detail = await (await fetch(`${dreamNode().streamBase}/api/torrents/${r.infohash}`)).json();
      expect(detail).toMatchObject({ progress: 1, state: 'seeding' });
      // Before, the daemon hashed the whole file again (read >= size): uploads took twice as long.
      expect(read, name).toBeLessThan(size / 8);
      await json(['rm', r.infohash, '--unpublish']);
    }
  });
});

describe('stream', () => {
  it('--stdout pipes the exact bytes, and a bare infohash works as the query', async () => {
    const clip = join(dir, 'pipe.mp4');
    await sampleClip(clip, 3, { size: '160x90' });
    const { infohash } = await json(['upload', clip, 'Pipe Test']);
    const r = await run(['stream', infohash, '--stdout']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.equals(readFileSync(clip))).toBe(true);
  });

  it('a magnet link prints its URL; subtitles in the torrent are passed along', async () => {
    const found = await json(['search', 'subtitled episode']);
    const entry = found.results[0].entry;
    expect(entry.title).toBe('Subtitled Episode');
    const r = await json(['stream', entry.magnet, '--print-url']);
    expect(r.url).toMatch(/\/stream\/[0-9a-f]{40}\/.*episode\.mp4$/);
    expect(r.subtitles).toHaveLength(1);
    expect(r.subtitles[0]).toMatch(/episode\.en\.srt$/);
    const sub = await fetch(r.subtitles[0]);
    expect(await sub.text()).toContain('Hello');
  });

  it('--peer reaches a seeder no DHT or catalog knows (a real libtorrent), for a .torrent file', async () => {
    const source = join(dir, 'friend');
    mkdirSync(source);
    const clip = join(source, 'friend.mp4');
    await sampleClip(clip, 3, { size: '160x90' });
    const { torrent } = await createTorrent(clip);
    const torrentPath = join(dir, 'friend.torrent');
    writeFileSync(torrentPath, torrent);
    const seeder = await startLibtorrent({ savePath: source, torrent });
    try {
      const r = await run(['stream', torrentPath, '--peer', `127.0.0.1:${seeder.port}`, '--stdout']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.equals(readFileSync(clip))).toBe(true);
    } finally {
      await seeder.stop();
    }
  });

  it('refuses a --peer that is not host:port, naming it', async () => {
    const r = await run(['stream', 'pipe test', '--peer', 'localhost', '--print-url']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--peer: expected host:port');
    expect(r.stderr).toContain('"localhost"');
  });

  it('refuses --print-url with --stdout, and a --pick out of range', async () => {
    const both = await run(['stream', 'pipe test', '--print-url', '--stdout']);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('choose one of --print-url and --stdout');
    const pick = await run(['stream', 'pipe test', '--pick', '9', '--print-url']);
    expect(pick.status).toBe(2);
    expect(pick.stderr).toContain('--pick 9');
  });
});

describe('Ctrl-C while playing', () => {
  it('stops the player and exits 130', async () => {
    const player = recordingPlayer('slowplayer');
    const child = dreamNode().spawnCli(['stream', 'pipe test', '--first', '--player', player.path]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const { pid } = await player.started();
    child.kill('SIGINT');
    const status = await new Promise<number | null>((r) => child.on('exit', r));
    expect(status, stderr).toBe(130);
    await new Promise((r) => setTimeout(r, 300));
    expect(() => process.kill(pid, 0)).toThrow(); // the player is gone too
  });
});

/** A .torrent of a fresh clip `<name>.mp4` that nobody seeds: its first piece never comes. */
async function unseededTorrent(name: string) {
  const folder = join(dir, name);
  mkdirSync(folder);
  await sampleClip(join(folder, `${name}.mp4`), 2, { size: '160x90' });
  const { torrent, meta } = await createTorrent(join(folder, `${name}.mp4`));
  const torrentPath = join(dir, `${name}.torrent`);
  writeFileSync(torrentPath, torrent);
  return { torrentPath, meta };
}

describe('the player starts while the first piece is on its way', () => {
  it('is launched with the URL before any byte is verified, and stopped when the stream goes away', async () => {
    // A torrent nobody seeds: its first piece never comes. The player (a stand-in that records the
    // URL it was given) must start anyway: its own start-up overlaps the download.
    const { torrentPath, meta } = await unseededTorrent('lonely');
    const player = recordingPlayer('earlyplayer');
    const child = dreamNode().spawnCli(['stream', torrentPath, '--player', player.path]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const started = await player.started();
    expect(started.args.at(-1)).toMatch(new RegExp(`/stream/${meta.infohash}/`));
    expect(stderr).toContain('playing lonely.mp4 in');
    const listed = (await json(['ls'])) as { infohash: string; progress: number }[];
    expect(listed.find((t) => t.infohash === meta.infohash)?.progress).toBe(0); // the player started first
    // The torrent is removed while the player waits: the CLI says so and stops the player.
    await json(['rm', meta.infohash]);
    const status = await exited;
    expect(status, stderr).not.toBe(0);
    expect(stderr).toContain('the stream answered 410: the torrent was stopped or removed');
    await new Promise((r) => setTimeout(r, 300));
    expect(() => process.kill(started.pid, 0)).toThrow(); // the player is gone too
  });
});

describe('a title from the catalog whose metadata no peer has sent yet', () => {
  it('starts the player on the file the entry lists, and stops it at once when the torrent goes', async () => {
    // Published, then taken out of this engine (not out of the catalog): streaming it is what a user
    // does with a title someone else published, whose metadata must come from peers (none here).
    const { torrentPath, meta } = await unseededTorrent('unmet');
    await json(['upload', torrentPath, 'Nobody Has Sent This']);
    const removed = await fetch(`${dreamNode().streamBase}/api/torrents/${meta.infohash}`, {
      method: 'DELETE',
    });
    expect(removed.status, await removed.text()).toBe(204);
    const player = recordingPlayer('catalogplayer');
    const child = dreamNode().spawnCli([
      'stream',
      'nobody has sent this',
      '--first',
      '--player',
      player.path,
    ]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const started = await player.started();
    // The file by its path in the entry: the stream server holds the player until the metadata is in.
    expect(started.args.at(-1)).toBe(`${dreamNode().streamBase}/stream/${meta.infohash}/unmet.mp4`);
    const listed = (await json(['ls'])) as { infohash: string; state: string }[];
    expect(listed.find((t) => t.infohash === meta.infohash)?.state).toBe('metadata');
    // Removed while the player waits for the metadata: answered now, not after the 60 s wait.
    const removedAt = Date.now();
    await json(['rm', meta.infohash]);
    const status = await exited;
    expect(Date.now() - removedAt).toBeLessThan(30_000);
    expect(status, stderr).not.toBe(0);
    expect(stderr).toContain(`no torrent ${meta.infohash} is loaded`);
    await new Promise((r) => setTimeout(r, 300));
    expect(() => process.kill(started.pid, 0)).toThrow(); // the player is gone too
  });
});

describe('a catalog entry whose file list the torrent contradicts', () => {
  it('is named in the error, and the player is stopped', async () => {
    const clip = join(dir, 'stale.mp4');
    await sampleClip(clip, 2, { size: '160x90' });
    const { infohash, magnet } = await json(['upload', clip, 'Stale Listing']);
    // Re-signed by its own publisher with a file the torrent does not have (a hand-edited entry).
    const key = await loadOrCreateSigningKey(join(dir, 'node', 'state'));
    const catalog = new CatalogClient({ baseUrl: `${dreamNode().streamBase}/catalog` });
    const { createdAt } = (await catalog.get(infohash))!;
    const files = [{ path: 'renamed.mp4', size: 1 }];
    await catalog.add(signEntry(key, { infohash, title: 'Stale Listing', magnet, files, createdAt }));
    const player = recordingPlayer('staleplayer');
    const r = await run(['stream', 'stale listing', '--first', '--player', player.path], 60_000);
    expect(r.status).toBe(EXIT.unexpected);
    expect(r.stderr).toContain('has no file with path "renamed.mp4"');
    expect(r.stderr).toContain(`the torrent's files are not those the catalog entry "Stale Listing" lists`);
    expect(r.stderr).toContain(`dream-cli stream ${infohash}\` plays from the torrent's own list`);
    await new Promise((res) => setTimeout(res, 300));
    // Stopped, or killed before it even ran its first line: no process of it is left either way.
    expect(player.running()).toEqual([]);
  });
});

describe('a player that gives up before the first piece', () => {
  it('is reported as such, with what to do', async () => {
    const { torrentPath, meta } = await unseededTorrent('slow');
    // A stand-in for a player whose network timeout ran out: it exits 2 without any byte.
    const player = join(dir, 'impatientplayer');
    writeFileSync(
      player,
      `#!${process.execPath}
setTimeout(() => process.exit(2), 300);
`,
    );
    chmodSync(player, 0o755);
    const r = await run(['stream', torrentPath, '--player', player]);
    expect(r.status).toBe(EXIT.playerFailed);
    expect(r.stderr).toContain('exited with status 2');
    expect(r.stderr).toContain("before the stream's first bytes were there");
    expect(r.stderr).toContain('--print-url');
    // One killed by a signal (the OOM killer, a `kill -9`) has no status: the message names the signal.
    const killed = join(dir, 'killedplayer');
    writeFileSync(killed, `#!${process.execPath}\nprocess.kill(process.pid, 'SIGKILL');\n`);
    chmodSync(killed, 0o755);
    const k = await run(['stream', torrentPath, '--player', killed]);
    expect(k.status).toBe(EXIT.playerFailed);
    expect(k.stderr).toContain('killedplayer was stopped by SIGKILL after');
    expect(k.stderr).not.toContain('null');
    // A "player" that cannot be started at all: a clear error and an exit, not a crash or a hang.
    // (a directory passes the executable check on PATH, and spawn fails with EACCES).
    const broken = join(dir, 'brokenplayer');
    mkdirSync(broken);
    const b = await run(['stream', torrentPath, '--player', broken], 30_000);
    expect(b.status, b.stderr).toBe(EXIT.playerFailed);
    expect(b.stderr).toContain('could not start');
    await json(['rm', meta.infohash]);
  });
});

describe('rm', () => {
  it('stops seeding and unpublishes; the uploaded file stays where it was', async () => {
    const clip = join(dir, 'gone.mp4');
    await sampleClip(clip, 2, { size: '160x90' });
    const { infohash } = await json(['upload', clip, 'Soon Removed']);
    const removed = await json(['rm', infohash, '--delete-data', '--unpublish']);
    expect(removed).toMatchObject({ removed: infohash, unpublished: true });
    const ls = await json(['ls']);
    expect(ls.map((t: { infohash: string }) => t.infohash)).not.toContain(infohash);
    const search = await run(['search', 'soon removed']);
    expect(search.stdout.toString()).not.toContain(infohash);
    expect(readFileSync(clip).length).toBeGreaterThan(0); // never delete what the user uploaded
    const bad = await run(['rm', 'not-a-hash']);
    expect(bad.status).toBe(2);
  });
});

describe('limits', () => {
  it('shows and changes the live limits, engine-wide and per torrent, and refuses a bad rate', async () => {
    expect(await json(['limits'])).toEqual({ scope: 'engine', download: 0, upload: 0 });
    const set = await run(['limits', '--down', '4MiB', '--up', '500k']);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout.toString()).toContain('all torrents: download 4.0 MiB/s, upload 500.0 KiB/s');
    expect(set.stdout.toString()).toContain('torrent.download_rate_limit'); // where a lasting limit goes
    // Absent keys stay; "none" lifts a limit.
    expect(await json(['limits', '--up', 'none'])).toEqual({
      scope: 'engine',
      download: 4 * 1024 * 1024,
      upload: 0,
    });

    const clip = join(dir, 'limited.mp4');
    await sampleClip(clip, 2, { size: '160x90' });
    const { infohash } = await json(['upload', clip, 'Limited Film']);
    expect(await json(['limits', '--torrent', infohash, '--up', '1MB'])).toEqual({
      scope: infohash,
      download: 0,
      upload: 1_000_000,
    });
    // The engine applies what the CLI says it set.
    const api = await fetch(`http://127.0.0.1:${dreamNode().ports.stream}/api/torrents/${infohash}/limits`);
    expect(await api.json()).toEqual({ download: 0, upload: 1_000_000 });

    const bits = await run(['limits', '--down', '8Mb']);
    expect(bits.status).toBe(2);
    expect(bits.stderr).toContain('--down: "8Mb": a lower-case b means bits');
    const notHash = await run(['limits', '--torrent', 'xyz']);
    expect(notHash.status).toBe(2);
    expect(notHash.stderr).toContain('--torrent: "xyz" is not an infohash (40 hex digits)');
    const unknown = await run(['limits', '--torrent', 'ab'.repeat(20), '--up', '1M']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/dream-torrent refused PUT .*limits/);
    // Nothing changed by the refused commands.
    expect(await json(['limits'])).toEqual({ scope: 'engine', download: 4 * 1024 * 1024, upload: 0 });
    await json(['limits', '--down', '0']);
  });
});
