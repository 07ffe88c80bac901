/** Shared fixtures for E1's tests: build .torrent files by hand, with real piece hashes. */
import { createHash } from 'node:crypto';
import { type BEncodable, bencode } from '../src/metainfo/bdecode.js';

export interface FileSpec {
  path: (string | Uint8Array)[];
  length: number;
  attr?: string;
  pathUtf8?: string[];
}

export interface BuiltTorrent {
  bytes: Uint8Array;
  /** The torrent's linear content (pad files as zeros). */
  data: Buffer;
  info: Record<string, BEncodable>;
}

/** Deterministic pseudo-random bytes. */
export function content(length: number, seed = 1): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function pieceHashes(data: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) {
    out.push(
      createHash('sha1')
        .update(data.subarray(o, o + pieceLength))
        .digest(),
    );
  }
  return Buffer.concat(out);
}

/** Two files of `length` bytes each under one torrent name: the selection and trust tests' shape. */
export function twoFileTorrent(name: string, files: [string, string], length: number): BuiltTorrent {
  return buildTorrent({ name, files: files.map((f) => ({ path: [f], length })) });
}

export function buildTorrent(opts: {
  name?: string | Uint8Array;
  pieceLength?: number;
  length?: number;
  files?: FileSpec[];
  seed?: number;
  extraInfo?: Record<string, BEncodable>;
  top?: Record<string, BEncodable>;
}): BuiltTorrent {
  const pieceLength = opts.pieceLength ?? 16384;
  let data: Buffer;
  const info: Record<string, BEncodable> = { name: opts.name ?? 'test', 'piece length': pieceLength };
  if (opts.files) {
    const parts = opts.files.map((f, i) =>
      f.attr?.includes('p') ? Buffer.alloc(f.length) : content(f.length, (opts.seed ?? 1) * 1000 + i + 1),
    );
    data = Buffer.concat(parts);
    info.files = opts.files.map((f) => ({
      length: f.length,
      path: f.path,
      ...(f.attr ? { attr: f.attr } : {}),
      ...(f.pathUtf8 ? { 'path.utf-8': f.pathUtf8 } : {}),
    }));
  } else {
    data = content(opts.length ?? 100_000, opts.seed ?? 1);
    info.length = data.length;
  }
  info.pieces = pieceHashes(data, pieceLength);
  Object.assign(info, opts.extraInfo ?? {});
  const bytes = bencode({ announce: 'http://127.0.0.1:1/announce', info, ...(opts.top ?? {}) });
  return { bytes, data, info };
}

export function piecesOf(data: Buffer, pieceLength: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) out.push(data.subarray(o, o + pieceLength));
  return out;
}

import { execFileSync } from 'node:child_process';

/** The system python has python3-libtorrent; the python3 first on PATH may not. */
export const LT_PYTHON = '/usr/bin/python3';

/**
 * Make a torrent of `contentPath` with libtorrent (2.x makes hybrid v1+v2 torrents with BEP 47 pad
 * files by default; flags=64 (v1_only) for a plain v1 torrent). Returns the .torrent bytes and
 * libtorrent's own view of it.
 */
export function libtorrentCreate(
  contentPath: string,
  out: string,
  opts: { pieceLength?: number; v1Only?: boolean; v2Only?: boolean } = {},
): { v1: string; v2: string; files: { path: string; size: number; offset: number; pad: boolean }[] } {
  const script = `
import libtorrent as lt, sys, json, os
src, out, psize, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, psize, flags={'v1': lt.create_torrent.v1_only, 'v2': lt.create_torrent.v2_only}.get(mode, 0))
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
open(out, 'wb').write(lt.bencode(ct.generate()))
ti = lt.torrent_info(out)
f = ti.files()
print(json.dumps({'v1': str(ti.info_hashes().v1) if ti.info_hashes().has_v1() else '', 'v2': str(ti.info_hashes().v2),
  'files': [{'path': f.file_path(i), 'size': f.file_size(i), 'offset': f.file_offset(i), 'pad': bool(f.file_flags(i) & 1)} for i in range(f.num_files())]}))
`;
  const outText = execFileSync(
    LT_PYTHON,
    [
      '-c',
      script,
      contentPath,
      out,
      String(opts.pieceLength ?? 16384),
      opts.v1Only ? 'v1' : opts.v2Only ? 'v2' : 'hybrid',
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(outText);
}

/** libtorrent's verdict on a .torrent file: its v1 infohash, or the error text. */
export function libtorrentInfo(path: string): { v1?: string; error?: string; numPieces?: number } {
  const script = `
import libtorrent as lt, sys, json
try:
  ti = lt.torrent_info(sys.argv[1])
  print(json.dumps({'v1': str(ti.info_hashes().v1), 'numPieces': ti.num_pieces()}))
except Exception as e:
  print(json.dumps({'error': str(e)}))
`;
  return JSON.parse(execFileSync(LT_PYTHON, ['-c', script, path], { encoding: 'utf8' }));
}

const B = (s: string) => Buffer.from(s, 'latin1');
const multi = (files: FileSpec[], extra: Parameters<typeof buildTorrent>[0] = {}) =>
  buildTorrent({ name: 'pack', files, ...extra });

export interface HostileCase {
  name: string;
  /** Raw bytes (refused cases) or a built torrent with its content (accepted cases). */
  bytes: () => Uint8Array | BuiltTorrent;
  /** Refused with this MetainfoError code... */
  code?: string;
  /** ...or accepted, with exactly these non-pad paths (all inside the root). */
  paths?: string[];
}

/**
 * The hostile-torrent table (issue 3): each is refused with a clear code, or accepted with paths
 * that stay inside the root (metainfo.test.ts checks the parse, storage.test.ts writes every
 * accepted one under a temp root and checks nothing lands outside).
 */
export const HOSTILE_TORRENTS: HostileCase[] = [
  {
    name: 'traversal ../../etc/x',
    bytes: () => multi([{ path: ['..', '..', 'etc', 'x'], length: 100 }]),
    paths: ['pack/etc/x'],
  },
  {
    name: 'traversal inside an element',
    bytes: () => multi([{ path: ['../../etc/passwd'], length: 100 }]),
    paths: ['pack/.._.._etc_passwd'],
  },
  {
    name: 'absolute path',
    bytes: () => multi([{ path: ['', 'etc', 'passwd'], length: 100 }]),
    paths: ['pack/etc/passwd'],
  },
  {
    name: 'backslash path',
    bytes: () => multi([{ path: ['..\\..\\win.ini'], length: 9 }]),
    paths: ['pack/.._.._win.ini'],
  },
  {
    name: 'reserved Windows names',
    bytes: () =>
      multi([
        { path: ['CON'], length: 1 },
        { path: ['aux.txt'], length: 1 },
        { path: ['Lpt9', 'com1.tar.gz'], length: 1 },
      ]),
    paths: ['pack/_CON', 'pack/_aux.txt', 'pack/_Lpt9/_com1.tar.gz'],
  },
  {
    name: 'empty and dot elements',
    bytes: () => multi([{ path: ['', '.', 'a', ''], length: 5 }]),
    paths: ['pack/a'],
  },
  { name: 'only empty elements', bytes: () => multi([{ path: [''], length: 5 }]), paths: ['pack/_'] },
  {
    name: 'NUL and control characters',
    bytes: () => multi([{ path: ['a\u0000b\nc\u007f'], length: 5 }]),
    paths: ['pack/a_b_c_'],
  },
  {
    name: 'trailing dots and spaces',
    bytes: () => multi([{ path: ['dir. ', 'file...'], length: 5 }]),
    paths: ['pack/dir/file'],
  },
  {
    name: 'invalid UTF-8',
    bytes: () => multi([{ path: [B('caf\xe9\xff.mkv')], length: 5 }]),
    paths: ['pack/caf__.mkv'],
  },
  {
    name: 'path.utf-8 preferred over invalid path',
    bytes: () => multi([{ path: [B('caf\xe9')], pathUtf8: ['café'], length: 5 }]),
    paths: ['pack/café'],
  },
  {
    name: 'overlong element',
    bytes: () => multi([{ path: [`${'é'.repeat(300)}.mkv`], length: 5 }]),
    paths: [`pack/${'é'.repeat(125)}.mkv`],
  },
  {
    name: 'duplicates after sanitisation',
    bytes: () =>
      multi([
        { path: ['a/b'], length: 5 },
        { path: ['a\\b'], length: 5 },
        { path: ['x'], length: 5 },
        { path: ['x', 'y'], length: 5 },
      ]),
    paths: ['pack/a_b', 'pack/a_b (1)', 'pack/x', 'pack/x (1)/y'],
  },
  { name: 'name is ..', bytes: () => buildTorrent({ name: '..', length: 10 }), paths: [] },
  {
    name: 'name is an absolute path',
    bytes: () => buildTorrent({ name: '/etc/passwd', length: 10 }),
    paths: ['_etc_passwd'],
  },
  {
    // 1.1 million hashes do not fit in the 10 MiB input limit, which is what binds first.
    name: 'huge piece count',
    bytes: () =>
      bencode({
        info: { name: 'x', 'piece length': 16384, length: 2 ** 40, pieces: new Uint8Array(20 * 1_100_000) },
      }),
    code: 'BENCODE_TOO_LARGE',
  },
  {
    name: '1 TiB claimed with 400,000 hashes',
    bytes: () =>
      bencode({
        info: { name: 'x', 'piece length': 16384, length: 2 ** 40, pieces: new Uint8Array(20 * 400_000) },
      }),
    code: 'LENGTH_MISMATCH',
  },
  {
    name: 'length larger than the pieces cover',
    bytes: () => buildTorrent({ length: 100_000, extraInfo: { length: 10 ** 9 } }).bytes,
    code: 'LENGTH_MISMATCH',
  },
  {
    name: 'more pieces than the length needs',
    bytes: () => buildTorrent({ length: 100_000, extraInfo: { length: 1000 } }).bytes,
    code: 'LENGTH_MISMATCH',
  },
  {
    name: 'pieces not a multiple of 20',
    bytes: () => buildTorrent({ extraInfo: { pieces: new Uint8Array(21) } }).bytes,
    code: 'BAD_PIECES',
  },
  {
    name: 'piece length 0',
    bytes: () => buildTorrent({ extraInfo: { 'piece length': 0 } }).bytes,
    code: 'BAD_PIECE_LENGTH',
  },
  {
    name: 'piece length not a power of two',
    bytes: () => buildTorrent({ extraInfo: { 'piece length': 20000 } }).bytes,
    code: 'BAD_PIECE_LENGTH',
  },
  {
    name: 'piece length 1 GiB',
    bytes: () => buildTorrent({ extraInfo: { 'piece length': 2 ** 30 } }).bytes,
    code: 'BAD_PIECE_LENGTH',
  },
  {
    name: 'negative file length',
    bytes: () =>
      bencode({
        info: {
          name: 'x',
          'piece length': 16384,
          pieces: new Uint8Array(20),
          files: [{ length: -5, path: ['a'] }],
        },
      }),
    code: 'INVALID_FIELD',
  },
  {
    name: 'file length beyond 2^53',
    bytes: () =>
      B(
        'd4:infod5:filesld6:lengthi99999999999999999999e4:pathl1:aeee4:name1:x12:piece lengthi16384e6:pieces0:ee',
      ),
    code: 'TOTAL_TOO_LARGE',
  },
  {
    name: 'length is a string',
    bytes: () => buildTorrent({ extraInfo: { length: '100' } }).bytes,
    code: 'INVALID_FIELD',
  },
  { name: 'info is a list', bytes: () => bencode({ info: [1, 2] }), code: 'INVALID_FIELD' },
  { name: 'no info', bytes: () => bencode({ announce: 'http://x' }), code: 'INVALID_FIELD' },
  { name: 'top level not a dict', bytes: () => B('li1ee'), code: 'INVALID_FIELD' },
  {
    name: 'path element not a string',
    bytes: () =>
      bencode({
        info: {
          name: 'x',
          'piece length': 16384,
          pieces: new Uint8Array(20),
          files: [{ length: 1, path: [5] }],
        },
      }),
    code: 'INVALID_FIELD',
  },
  { name: 'empty path list', bytes: () => multi([{ path: [], length: 1 }]).bytes, code: 'INVALID_FIELD' },
  {
    name: 'both length and files',
    bytes: () => multi([{ path: ['a'], length: 1 }], { extraInfo: { length: 1 } }).bytes,
    code: 'INVALID_FIELD',
  },
  {
    name: 'empty files list',
    bytes: () =>
      bencode({ info: { name: 'x', 'piece length': 16384, pieces: new Uint8Array(0), files: [] } }),
    code: 'EMPTY_TORRENT',
  },
  { name: 'zero total length', bytes: () => buildTorrent({ length: 0 }).bytes, code: 'EMPTY_TORRENT' },
  { name: 'bad bencode', bytes: () => B('d4:infod4:name3:abe'), code: 'BENCODE_INVALID' },
  {
    name: 'truncated torrent',
    bytes: () => buildTorrent({}).bytes.subarray(0, 50),
    code: 'BENCODE_INVALID',
  },
  {
    name: 'deep nesting',
    bytes: () => B(`d4:infod1:x${'l'.repeat(5000)}${'e'.repeat(5000)}ee`),
    code: 'BENCODE_TOO_DEEP',
  },
  {
    name: 'oversized input',
    bytes: () => Buffer.concat([B('d4:infod1:x10485760:'), Buffer.alloc(10485760), B('ee')]),
    code: 'BENCODE_TOO_LARGE',
  },
  {
    name: 'trailing garbage',
    bytes: () => Buffer.concat([buildTorrent({}).bytes, B('garbage')]),
    code: 'BENCODE_TRAILING_DATA',
  },
  { name: 'duplicate keys', bytes: () => B('d4:infod4:name1:a4:name1:bee'), code: 'BENCODE_INVALID' },
];
