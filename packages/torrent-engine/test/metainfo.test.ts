import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parseTorrentLib from 'parse-torrent';
import { describe, expect, it } from 'vitest';
import type { BEncodable } from '../src/metainfo/bdecode.js';
import {
  BDict,
  type BValue,
  bdecode,
  bencode,
  METAINFO_ERROR_CODES,
  MetainfoError,
  parseInfo,
  parseMagnet,
  parseTorrent,
  toMagnet,
} from '../src/metainfo/index.js';
import { sha256 } from '../src/metainfo/merkle.js';
import {
  buildTorrent,
  content,
  type FileSpec,
  HOSTILE_TORRENTS,
  libtorrentCreate,
  libtorrentInfo,
} from './storage-helpers.js';

function refused(bytes: Uint8Array): MetainfoError {
  try {
    parseTorrent(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(MetainfoError);
    return e as MetainfoError;
  }
  throw new Error('expected a MetainfoError');
}

const multi = (files: FileSpec[], extra: Parameters<typeof buildTorrent>[0] = {}) =>
  buildTorrent({ name: 'pack', files, ...extra });

describe('bdecode', () => {
  it('decodes values and records dict spans', () => {
    const bytes = new TextEncoder().encode('d1:ai-3e1:bl1:xi0eee');
    const v = bdecode(bytes);
    expect(v).toMatchObject({ start: 0, end: bytes.length });
  });

  it.each([
    ['i01e', 'BENCODE_INVALID'],
    ['i-0e', 'BENCODE_INVALID'],
    ['ie', 'BENCODE_INVALID'],
    ['i12', 'BENCODE_INVALID'],
    ['5:abc', 'BENCODE_INVALID'],
    ['01:a', 'BENCODE_INVALID'],
    ['d1:ai1e1:ai2ee', 'BENCODE_INVALID'],
    ['di1ei2ee', 'BENCODE_INVALID'],
    ['x', 'BENCODE_INVALID'],
    ['', 'BENCODE_INVALID'],
    ['i1eXYZ', 'BENCODE_TRAILING_DATA'],
    ['i123456789012345678901e', 'BENCODE_INVALID'],
    [`${'l'.repeat(101)}${'e'.repeat(101)}`, 'BENCODE_TOO_DEEP'],
  ])('refuses %j with %s', (text, code) => {
    expect(() => bdecode(new TextEncoder().encode(text))).toThrow(expect.objectContaining({ code }));
  });

  it('caps tokens and size', () => {
    const many = new TextEncoder().encode(`l${'i0e'.repeat(50)}e`);
    expect(() => bdecode(many, { maxBytes: 1e6, maxDepth: 10, maxTokens: 20 })).toThrow(
      expect.objectContaining({ code: 'BENCODE_TOO_MANY_TOKENS' }),
    );
    expect(() => bdecode(new Uint8Array(10 * 1024 * 1024 + 1))).toThrow(
      expect.objectContaining({ code: 'BENCODE_TOO_LARGE' }),
    );
  });

  it('round-trips random canonical structures byte for byte', () => {
    let seed = 99;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const gen = (depth: number): BEncodable => {
      const k = depth > 4 ? rnd(2) : rnd(4);
      if (k === 0) return rnd(2) ? rnd(1_000_000) - 500_000 : Number.MAX_SAFE_INTEGER - rnd(10);
      if (k === 1) return Buffer.from(Array.from({ length: rnd(20) }, () => rnd(256)));
      if (k === 2) return Array.from({ length: rnd(5) }, () => gen(depth + 1));
      const o: Record<string, BEncodable> = {};
      for (let i = rnd(5); i > 0; i--) o[`k${rnd(50)}`] = gen(depth + 1);
      return o;
    };
    const back = (v: BValue): BEncodable => {
      if (v instanceof BDict) return Object.fromEntries([...v.map].map(([key, x]) => [key, back(x)]));
      if (Array.isArray(v)) return v.map(back);
      if (typeof v === 'bigint') throw new Error('unexpected bigint');
      return v;
    };
    for (let n = 0; n < 500; n++) {
      const bytes = bencode(gen(0));
      expect(Buffer.from(bencode(back(bdecode(bytes)))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('never throws anything but MetainfoError on mutated torrents', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const base = buildTorrent({ files: [{ path: ['a'], length: 40000 }] }).bytes;
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + (rnd() % 4); k++) b[rnd() % b.length] = rnd() & 0xff;
      const cut = rnd() % 3 === 0 ? b.subarray(0, rnd() % b.length) : b;
      try {
        parseTorrent(cut);
      } catch (e) {
        if (!(e instanceof MetainfoError)) throw e;
      }
    }
  });
});

describe('parseTorrent', () => {
  it('reads a single-file torrent; infohash and fields agree with parse-torrent', async () => {
    const t = buildTorrent({ name: 'movie.mkv', length: 100_000, pieceLength: 32768 });
    const meta = parseTorrent(t.bytes);
    const ref = await parseTorrentLib(Buffer.from(t.bytes));
    expect(meta.infohash).toBe(ref.infoHash);
    expect(meta.name).toBe('movie.mkv');
    expect(meta.pieceCount).toBe(4);
    expect(meta.pieceSize(3)).toBe(100_000 - 3 * 32768);
    expect(meta.pieceSize(0)).toBe(32768);
    expect(Buffer.from(meta.pieceHash(1)).toString('hex')).toBe(ref.pieces[1]);
    expect(meta.files).toEqual([{ index: 0, path: 'movie.mkv', length: 100_000, offset: 0, pad: false }]);
    expect(meta.trackers).toEqual([['http://127.0.0.1:1/announce']]);
    expect(meta.private).toBe(false);
  });

  it('hashes the exact info bytes, even with unsorted keys (libtorrent agrees)', async () => {
    const t = buildTorrent({ length: 20_000 });
    // Hand-build an info dict with keys out of order: re-encoding would change the infohash.
    const name = 'unsorted';
    const pieces = t.info.pieces as Uint8Array;
    const infoText = Buffer.concat([
      Buffer.from(
        `d4:name${name.length}:${name}6:lengthi20000e12:piece lengthi16384e6:pieces${pieces.length}:`,
      ),
      pieces,
      Buffer.from('e'),
    ]);
    const bytes = Buffer.concat([Buffer.from('d4:info'), infoText, Buffer.from('e')]);
    const meta = parseTorrent(bytes);
    const dir = await mkdtemp(join(tmpdir(), 'meta-'));
    try {
      await writeFile(join(dir, 'u.torrent'), bytes);
      expect(libtorrentInfo(join(dir, 'u.torrent')).v1).toBe(meta.infohash);
    } finally {
      await rm(dir, { recursive: true });
    }
    expect(Buffer.from(meta.info).equals(infoText)).toBe(true);
    expect(parseInfo(meta.info, meta.infohash).infohash).toBe(meta.infohash);
  });

  it('reads announce-list tiers, drops unusable URLs, and the private flag', () => {
    const t = buildTorrent({
      extraInfo: { private: 1 },
      top: {
        'announce-list': [
          ['udp://127.0.0.1:2/announce', 'javascript:alert(1)'],
          ['http://127.0.0.1:3/a', 'udp://127.0.0.1:2/announce'],
          [],
        ],
      },
    });
    const meta = parseTorrent(t.bytes);
    expect(meta.trackers).toEqual([['udp://127.0.0.1:2/announce'], ['http://127.0.0.1:3/a']]);
    expect(meta.private).toBe(true);
  });

  it('lays out multi-file torrents under the name, with offsets', () => {
    const t = multi([
      { path: ['a.txt'], length: 10 },
      { path: ['sub', 'b.bin'], length: 40000 },
    ]);
    const meta = parseTorrent(t.bytes);
    expect(meta.files.map((f) => [f.path, f.offset, f.length])).toEqual([
      ['pack/a.txt', 0, 10],
      ['pack/sub/b.bin', 10, 40000],
    ]);
    expect(meta.length).toBe(40010);
  });

  it('reads a libtorrent hybrid v1+v2 torrent with pad files like libtorrent does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-lt-'));
    try {
      await mkdir(join(dir, 'folder', 'sub'), { recursive: true });
      await writeFile(join(dir, 'folder', 'a.bin'), content(50_000, 3));
      await writeFile(join(dir, 'folder', 'sub', 'b.bin'), content(70_000, 4));
      await writeFile(join(dir, 'folder', 'c.txt'), content(10, 5));
      const lt = libtorrentCreate(join(dir, 'folder'), join(dir, 'h.torrent'));
      const meta = parseTorrent(readFileSync(join(dir, 'h.torrent')));
      expect(meta.infohash).toBe(lt.v1);
      expect(meta.infohashV2).toBe(lt.v2);
      expect(meta.files.map((f) => ({ path: f.path, size: f.length, offset: f.offset, pad: f.pad }))).toEqual(
        lt.files,
      );
      expect(meta.files.some((f) => f.pad)).toBe(true);
      expect(toMagnet(meta)).toContain(`xt=urn:btmh:1220${lt.v2}`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('reads a Transmission-made torrent like transmission-show does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-tr-'));
    try {
      await mkdir(join(dir, 'Show', 'extras'), { recursive: true });
      await writeFile(join(dir, 'Show', 'a.mkv'), content(70_000, 21));
      await writeFile(join(dir, 'Show', 'extras', 'b.mkv'), content(30_000, 22));
      const out = join(dir, 't.torrent');
      execFileSync(
        'transmission-create',
        ['-o', out, '-s', '16', '-t', 'udp://127.0.0.1:1/a', join(dir, 'Show')],
        {
          stdio: 'ignore',
        },
      );
      const shown = execFileSync('transmission-show', [out], { encoding: 'utf8' });
      const meta = parseTorrent(readFileSync(out));
      expect(shown).toContain(`Hash: ${meta.infohash}`);
      expect(meta.files.map((f) => f.path)).toEqual(['Show/a.mkv', 'Show/extras/b.mkv']);
      expect(meta.trackers).toEqual([['udp://127.0.0.1:1/a']]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses a libtorrent v2-only torrent, and reads a libtorrent v1-only one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-v2-'));
    try {
      await mkdir(join(dir, 'v'));
      await writeFile(join(dir, 'v', 'a.mkv'), content(40_000, 31));
      await writeFile(join(dir, 'v', 'b.mkv'), content(20_000, 32));
      libtorrentCreate(join(dir, 'v'), join(dir, 'v2.torrent'), { v2Only: true });
      const e = refused(readFileSync(join(dir, 'v2.torrent')));
      expect(e.code).toBe('V2_ONLY');
      const lt = libtorrentCreate(join(dir, 'v'), join(dir, 'v1.torrent'), { v1Only: true });
      const meta = parseTorrent(readFileSync(join(dir, 'v1.torrent')));
      expect(meta.infohash).toBe(lt.v1);
      expect(meta.infohashV2).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses a v2-only torrent clearly', () => {
    const bytes = bencode({
      info: {
        name: 'v2',
        'piece length': 16384,
        'meta version': 2,
        'file tree': { a: { '': { length: 1 } } },
      },
    });
    const e = refused(bytes);
    expect(e.code).toBe('V2_ONLY');
    expect(e.message).toMatch(/v2-only/);
  });
});

describe('hybrid torrents: the v2 half (BEP 52)', () => {
  /** A libtorrent hybrid torrent of a small and a big file (64 KiB pieces), and the big file's bytes. */
  async function hybrid(dir: string) {
    await mkdir(join(dir, 'pack'));
    const big = content(300_000, 41); // 5 pieces of 64 KiB, the last one short
    await writeFile(join(dir, 'pack', 'big.mkv'), big);
    await writeFile(join(dir, 'pack', 'small.srt'), content(40_000, 42)); // 3 blocks, under a piece
    libtorrentCreate(join(dir, 'pack'), join(dir, 'h.torrent'), { pieceLength: 64 * 1024 });
    return { bytes: readFileSync(join(dir, 'h.torrent')), big };
  }

  /** The v2 root of `data` computed here from its 16 KiB blocks (leaves padded with zeros). */
  function rootOf(data: Uint8Array): Buffer {
    let layer: Buffer[] = [];
    for (let at = 0; at < data.length; at += 16384) layer.push(sha256(data.subarray(at, at + 16384)));
    let width = 1;
    while (width < layer.length) width *= 2;
    while (layer.length < width) layer.push(Buffer.alloc(32));
    while (layer.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])));
      layer = next;
    }
    return layer[0]!;
  }

  it('gives each data file its pieces root, and big files their piece layer, as libtorrent made them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-v2half-'));
    try {
      const { bytes, big } = await hybrid(dir);
      const meta = parseTorrent(bytes);
      const bigFile = meta.files.find((f) => f.path === 'pack/big.mkv')!;
      const small = meta.files.find((f) => f.path === 'pack/small.srt')!;
      expect(Buffer.from(bigFile.piecesRoot!).equals(rootOf(big))).toBe(true);
      expect(Buffer.from(small.piecesRoot!).equals(rootOf(content(40_000, 42)))).toBe(true);
      expect(bigFile.pieceLayer?.length).toBe(5 * 32);
      // Each entry of the layer is the root of that piece's own 4 leaves.
      const third = big.subarray(2 * 65536, 3 * 65536);
      expect(Buffer.from(bigFile.pieceLayer!.subarray(64, 96)).equals(rootOf(third))).toBe(true);
      expect(small.pieceLayer).toBeUndefined(); // a file within one piece has no layer
      expect(meta.files.filter((f) => f.pad).every((f) => f.piecesRoot === undefined)).toBe(true);
      // From a magnet (the info dict alone) the roots are known, the layers are not.
      const fromInfo = parseInfo(meta.info, meta.infohash);
      expect(fromInfo.files.find((f) => f.path === 'pack/big.mkv')?.pieceLayer).toBeUndefined();
      expect(fromInfo.files.find((f) => f.path === 'pack/big.mkv')?.piecesRoot).toBeDefined();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses piece layers that do not hash up to their pieces root', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-v2half-'));
    try {
      const { bytes } = await hybrid(dir);
      const layer = parseTorrent(bytes).files.find((f) => f.path === 'pack/big.mkv')!.pieceLayer!;
      const at = bytes.indexOf(Buffer.from(layer));
      const tampered = Buffer.from(bytes);
      tampered[at + 40] = (tampered[at + 40]! + 1) % 256; // piece 1's hash, outside the info dict
      const e = refused(tampered);
      expect(e.code).toBe('BAD_PIECE_LAYERS');
      expect(e.message).toContain('pack/big.mkv');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses a hybrid torrent whose v1 and v2 halves disagree on a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meta-v2half-'));
    try {
      const { bytes } = await hybrid(dir);
      // The file tree's entry for big.mkv ("length" then "pieces root"), not the v1 list's.
      const text = bytes.toString('latin1');
      const at = text.indexOf('6:lengthi300000e11:pieces root');
      expect(at).toBeGreaterThan(0);
      const changed = Buffer.from(text.slice(0, at) + '6:lengthi300001e' + text.slice(at + 16), 'latin1');
      const e = refused(changed);
      expect(e.code).toBe('V2_MISMATCH');
      expect(e.message).toMatch(/pack\/big\.mkv.*300000.*300001/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('hostile torrents', () => {
  const cases = HOSTILE_TORRENTS;

  it.each(cases)('$name', ({ bytes, code, paths }) => {
    const built = bytes();
    const b = built instanceof Uint8Array ? built : built.bytes;
    if (code) {
      const e = refused(b);
      expect(e.code).toBe(code);
      expect(e.message.length).toBeGreaterThan(10);
      return;
    }
    const meta = parseTorrent(b);
    const real = meta.files.filter((f) => !f.pad).map((f) => f.path);
    if (paths && paths.length > 0) expect(real).toEqual(paths);
    for (const p of real) {
      const els = p.split('/');
      for (const el of els) {
        expect(el).not.toMatch(/^(\.|\.\.)?$/);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
        expect(el).not.toMatch(/[\u0000-\u001f\\]/);
        expect(Buffer.byteLength(el)).toBeLessThanOrEqual(255);
      }
    }
  });

  it('name ".." falls back to the infohash', () => {
    const meta = parseTorrent(buildTorrent({ name: '..', length: 10 }).bytes);
    expect(meta.name).toBe(meta.infohash);
  });
});

describe('parseInfo', () => {
  it('checks the expected infohash', () => {
    const meta = parseTorrent(buildTorrent({}).bytes);
    expect(() => parseInfo(meta.info, '0'.repeat(40))).toThrow(
      expect.objectContaining({ code: 'INFOHASH_MISMATCH' }),
    );
    expect(parseInfo(meta.info, meta.infohash.toUpperCase()).pieceCount).toBe(meta.pieceCount);
  });
});

describe('magnets', () => {
  it("reads a hybrid magnet's v2 infohash (btmh, SHA-256 multihash) and ignores a malformed one", () => {
    const v1 = 'c'.repeat(40);
    const v2 = 'AB'.repeat(32);
    expect(parseMagnet(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2}`).infohashV2).toBe(v2.toLowerCase());
    expect(
      parseMagnet(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2.slice(2)}`).infohashV2,
    ).toBeUndefined();
    expect(parseMagnet(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1320${v2}`).infohashV2).toBeUndefined();
    expect(parseMagnet(`magnet:?xt=urn:btih:${v1}`).infohashV2).toBeUndefined();
  });

  it('parses hex and base32 infohashes, names, trackers and peers', () => {
    const hex = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${hex.toUpperCase()}&dn=Big%20Buck&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=127.0.0.1:6881&x.pe=[::1]:51413&x.pe=bad`,
    );
    expect(m).toEqual({
      infohash: hex,
      name: 'Big Buck',
      trackers: ['udp://127.0.0.1:6969'],
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '::1', port: 51413 },
      ],
    });
    expect(parseMagnet('YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK').infohash).toBe(hex);
    expect(parseMagnet(hex).infohash).toBe(hex);
  });

  it('refuses junk and v2-only magnets', () => {
    expect(() => parseMagnet('hello')).toThrow(expect.objectContaining({ code: 'BAD_MAGNET' }));
    expect(() => parseMagnet('magnet:?dn=x')).toThrow(expect.objectContaining({ code: 'BAD_MAGNET' }));
    expect(() => parseMagnet(`magnet:?xt=urn:btmh:1220${'a'.repeat(64)}`)).toThrow(
      expect.objectContaining({ code: 'V2_ONLY' }),
    );
  });

  it('round-trips through toMagnet', () => {
    const meta = parseTorrent(buildTorrent({ name: 'a b&c' }).bytes);
    const m = parseMagnet(toMagnet(meta, { peers: [{ host: '::1', port: 7 }] }));
    expect(m).toEqual({
      infohash: meta.infohash,
      name: 'a b&c',
      trackers: ['http://127.0.0.1:1/announce'],
      peers: [{ host: '::1', port: 7 }],
    });
  });
});

describe('error catalogue', () => {
  it('documents every code in docs/design/storage.md', () => {
    const doc = readFileSync(new URL('../../../docs/design/storage.md', import.meta.url), 'utf8');
    for (const code of METAINFO_ERROR_CODES) expect(doc, code).toContain(`\`${code}\``);
  });
});
