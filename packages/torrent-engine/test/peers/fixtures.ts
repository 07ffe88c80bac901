// Deterministic test content and .torrent files for interop tests.
//
// Content comes from AES-128-CTR over zeros keyed by (seed, file path): the same spec always gives
// the same bytes, files never share content (so a piece mixed up between files fails its hash), and
// it runs at memory speed (~1 GiB/s), so a 200 MiB benchmark file costs well under a second.
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import bencode from 'bencode';
import createTorrent from 'create-torrent';

const execFileAsync = promisify(execFile);

/** Directory of the harness' python helpers (they sit beside this module). */
export const PEERS_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * The python interpreter that has the libtorrent module (Debian's python3-libtorrent). The python3
 * first on PATH is another build without it, so never spawn plain `python3`.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface FileSpec {
  /** Path relative to the target directory, '/'-separated; folders are created. */
  path: string;
  size: number;
}

/** Chunk written per call: large enough to amortise syscalls, small enough to keep memory flat. */
const WRITE_CHUNK = 4 * 1024 * 1024;

/** The deterministic bytes of `path` under `seed`, `length` bytes from `offset` (any offset). */
export function contentAt(seed: string | number, path: string, offset: number, length: number): Buffer {
  const key = createHash('sha256').update(`dream-fixture:${seed}:${path}`).digest();
  // AES-CTR: the keystream block b starts at counter b, so any offset can be produced directly.
  const block = Math.floor(offset / 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv);
  const skip = offset - block * 16;
  const out = cipher.update(Buffer.alloc(length + skip));
  return out.subarray(skip);
}

/**
 * Write the files of `spec` under `dir` with deterministic pseudo-random content.
 * Returns the absolute paths written, in spec order.
 */
export async function makeFiles(dir: string, spec: FileSpec[], seed: string | number = 1): Promise<string[]> {
  const written: string[] = [];
  for (const file of spec) {
    if (file.path.split('/').some((part) => part === '' || part === '..')) {
      throw new Error(`makeFiles: bad relative path ${JSON.stringify(file.path)}`);
    }
    const target = join(dir, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    const handle = await open(target, 'w');
    try {
      for (let offset = 0; offset < file.size; offset += WRITE_CHUNK) {
        const length = Math.min(WRITE_CHUNK, file.size - offset);
        await handle.write(contentAt(seed, file.path, offset, length));
      }
    } finally {
      await handle.close();
    }
    written.push(target);
  }
  return written;
}

/** A fresh temporary directory; remove it with `removeDir` (or `rm -r`) when done. */
export function makeTempDir(prefix = 'dream-peers-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Which tool made the .torrent.
 * - 'create-torrent': a plain v1 torrent (the npm package WebTorrent uses).
 * - 'libtorrent-hybrid': libtorrent 2.x's default, what qBittorrent makes today: v1 + v2 hashes in one
 *   info dict, with pad files (`.pad/N`, attr "p") aligning every file to a piece boundary.
 * - 'libtorrent-v1': libtorrent, v1 only (no pad files).
 * - 'libtorrent-v2': libtorrent, v2 only (BEP 52; aria2 and Transmission 3 cannot read these).
 */
export type TorrentFlavour = 'create-torrent' | 'libtorrent-hybrid' | 'libtorrent-v1' | 'libtorrent-v2';

export interface MakeTorrentOptions {
  /** A file or folder. A folder becomes a multi-file torrent named after it. */
  source: string;
  flavour?: TorrentFlavour;
  /** Bytes, a power of two >= 16 KiB. Default: 64 KiB (small tests want many pieces). */
  pieceLength?: number;
  private?: boolean;
  /** Announce URLs, one tier each. Default none. */
  trackers?: string[];
}

export interface MadeTorrent {
  /** The .torrent file's bytes. */
  torrent: Buffer;
  /** v1 info-hash (SHA-1 of the info dict), lowercase hex: what v1 peers handshake with. */
  infoHash: string;
  /** SHA-256 of the info dict, hex, for torrents with v2 hashes ('meta version' 2), else undefined. */
  infoHashV2: string | undefined;
  /** A magnet link with only the v1 info-hash (no trackers, no name). */
  magnet: string;
}

/** Fixed creation date, so the same input always gives the same .torrent bytes. */
const CREATION_DATE_SECONDS = 1_700_000_000;

/** Build a .torrent for `source` with the chosen tool. */
export async function makeTorrent(options: MakeTorrentOptions): Promise<MadeTorrent> {
  const flavour = options.flavour ?? 'create-torrent';
  const pieceLength = options.pieceLength ?? 64 * 1024;
  await stat(options.source); // a missing source fails here with ENOENT and the path
  let torrent: Buffer;
  if (flavour === 'create-torrent') {
    torrent = await new Promise<Buffer>((resolve, reject) => {
      createTorrent(
        options.source,
        {
          name: basename(options.source),
          pieceLength,
          private: options.private ?? false,
          // Passing announceList (even empty) stops create-torrent adding public WebTorrent trackers.
          announceList: (options.trackers ?? []).map((url) => [url]),
          urlList: [],
          createdBy: 'dream-test-harness',
          creationDate: new Date(CREATION_DATE_SECONDS * 1000),
        },
        (err: Error | null, bytes: Buffer) => (err ? reject(err) : resolve(bytes)),
      );
    });
  } else {
    const dir = await makeTempDir('dream-torrent-');
    try {
      const out = join(dir, 'out.torrent');
      const mode = flavour === 'libtorrent-hybrid' ? 'hybrid' : flavour === 'libtorrent-v1' ? 'v1' : 'v2';
      await execFileAsync(SYSTEM_PYTHON, [
        join(PEERS_DIR, 'make_torrent.py'),
        JSON.stringify({
          source: options.source,
          out,
          piece_length: pieceLength,
          mode,
          private: options.private ?? false,
          trackers: options.trackers ?? [],
          creation_date: CREATION_DATE_SECONDS,
        }),
      ]);
      torrent = await readFile(out);
    } finally {
      await removeDir(dir);
    }
  }
  const infoHash = v1InfoHash(torrent);
  const info = (bencode.decode(torrent) as { info: Record<string, unknown> }).info;
  const infoHashV2 =
    info['meta version'] === 2 ? createHash('sha256').update(bencode.encode(info)).digest('hex') : undefined;
  return { torrent, infoHash, infoHashV2, magnet: `magnet:?xt=urn:btih:${infoHash}` };
}

/**
 * SHA-1 of the bencoded info dict. Re-encoding the decoded dict is exact here because bencode
 * dictionaries have one canonical form and both tools emit it.
 */
export function v1InfoHash(torrent: Uint8Array): string {
  const decoded = bencode.decode(torrent) as { info: unknown };
  return createHash('sha1').update(bencode.encode(decoded.info)).digest('hex');
}
