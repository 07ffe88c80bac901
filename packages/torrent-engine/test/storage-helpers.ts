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
  opts: { pieceLength?: number; v1Only?: boolean } = {},
): { v1: string; v2: string; files: { path: string; size: number; offset: number; pad: boolean }[] } {
  const script = `
import libtorrent as lt, sys, json, os
src, out, psize, v1only = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, psize, flags=(lt.create_torrent.v1_only if v1only else 0))
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
open(out, 'wb').write(lt.bencode(ct.generate()))
ti = lt.torrent_info(out)
f = ti.files()
print(json.dumps({'v1': str(ti.info_hashes().v1), 'v2': str(ti.info_hashes().v2),
  'files': [{'path': f.file_path(i), 'size': f.file_size(i), 'offset': f.file_offset(i), 'pad': bool(f.file_flags(i) & 1)} for i in range(f.num_files())]}))
`;
  const outText = execFileSync(
    LT_PYTHON,
    ['-c', script, contentPath, out, String(opts.pieceLength ?? 16384), opts.v1Only ? '1' : '0'],
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
