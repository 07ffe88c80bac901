// Reading a video's duration from its container (src/stream/media-duration.ts): real files made by
// ffmpeg (MP4 with the moov at the end and at the start, QuickTime MOV, Matroska, WebM, with and
// without audio), compared to what ffprobe reports; and hostile or foreign bytes, which give
// "unknown" without throwing and without reading outside the file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeDuration } from '../src/stream/media-duration.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('dream-media-duration-');
});
afterAll(async () => {
  await removeDir(dir);
});

/** A reader over bytes that fails loudly on any read outside them, and counts reads. */
function reader(bytes: Uint8Array) {
  const r = {
    reads: 0,
    read: async (offset: number, length: number) => {
      r.reads++;
      if (offset < 0 || length <= 0 || offset + length > bytes.length)
        throw new Error(`read ${offset}+${length} outside a ${bytes.length}-byte file`);
      return bytes.subarray(offset, offset + length);
    },
  };
  return r;
}

/** A test pattern of `seconds` made by ffmpeg into dir/<name> (with a tone when `audio`). */
async function makeMedia(
  name: string,
  seconds: number,
  audio: boolean,
  codecArgs: string[],
): Promise<string> {
  const file = join(dir, name);
  const inputs = ['-f', 'lavfi', '-i', `testsrc2=duration=${seconds}:size=320x180:rate=25`];
  if (audio) inputs.push('-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`);
  await run('ffmpeg', ['-v', 'error', ...inputs, ...codecArgs, '-y', file], { timeout: 120_000 });
  return file;
}

async function ffprobeDuration(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

const CASES: { name: string; args: string[] }[] = [
  { name: 'moov-at-end.mp4', args: ['-c:v', 'libx264', '-preset', 'ultrafast'] },
  { name: 'faststart.mp4', args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', '+faststart'] },
  { name: 'with-audio.mov', args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'] },
  { name: 'video.mkv', args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'] },
  {
    name: 'video.webm',
    args: ['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-c:a', 'libopus'],
  },
];

describe('probeDuration on files ffmpeg made', () => {
  for (const c of CASES) {
    it(`${c.name}: the duration ffprobe reports, from a few header reads`, async () => {
      const file = await makeMedia(c.name, 7.5, c.args.includes('-c:a'), c.args);
      const bytes = new Uint8Array(await readFile(file));
      const r = reader(bytes);
      const seconds = await probeDuration(r.read, bytes.length);
      expect(seconds).toBeDefined();
      expect(seconds!).toBeCloseTo(await ffprobeDuration(file), 1);
      expect(r.reads).toBeLessThan(20);
    }, 120_000);
  }
});

describe('probeDuration on bytes that are not a usable header', () => {
  const ftyp = Buffer.from('00000018667479706973366d0000020069736f6d69736f32', 'hex'); // 24-byte ftyp
  const box = (type: string, size: number, body = Buffer.alloc(0)) => {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(size, 0);
    h.write(type, 4, 'latin1');
    return Buffer.concat([h, body]);
  };
  const mvhd = (timescale: number, duration: number) => {
    const body = Buffer.alloc(100);
    body.writeUInt32BE(timescale, 12);
    body.writeUInt32BE(duration, 16);
    return box('mvhd', 108, body);
  };
  const table: [string, Buffer][] = [
    ['random bytes', randomBytes(4096)],
    ['empty file', Buffer.alloc(0)],
    ['a box claiming more than the file', Buffer.concat([ftyp, box('mdat', 0x7fffffff)])],
    ['a box smaller than its header', Buffer.concat([ftyp, box('free', 4), randomBytes(64)])],
    ['moov with a zero timescale', Buffer.concat([ftyp, box('moov', 116, mvhd(0, 1000))])],
    ['moov with an unknown duration', Buffer.concat([ftyp, box('moov', 116, mvhd(1000, 0xffffffff))])],
    ['moov with a ten-year duration', Buffer.concat([ftyp, box('moov', 116, mvhd(1, 315_360_000))])],
    ['mvhd with no body', Buffer.concat([ftyp, box('moov', 16, box('mvhd', 8))])],
    ['moov cut short', Buffer.concat([ftyp, box('moov', 116, mvhd(1000, 5000)).subarray(0, 40)])],
    ['EBML magic then garbage', Buffer.concat([Buffer.from('1a45dfa3', 'hex'), randomBytes(200)])],
    ['EBML with a zero-length header', Buffer.from('1a45dfa3800000000000000000000000', 'hex')],
  ];
  for (const [what, bytes] of table) {
    it(`${what}: unknown, no throw, no read outside the file`, async () => {
      const r = reader(new Uint8Array(bytes));
      await expect(probeDuration(r.read, bytes.length)).resolves.toBeUndefined();
    });
  }

  it('a well-formed moov gives its duration (the table above is not just failing to parse)', async () => {
    const bytes = Buffer.concat([
      ftyp,
      box('mdat', 8 + 64, randomBytes(64)),
      box('moov', 116, mvhd(1000, 5500)),
    ]);
    const r = reader(new Uint8Array(bytes));
    await expect(probeDuration(r.read, bytes.length)).resolves.toBe(5.5);
  });
});

describe('probeDuration on mutated headers (fast-check)', () => {
  it('never throws, never reads outside the file, and answers unknown or a sane duration', async () => {
    const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];
    const mkv = await makeMedia('fuzz.mkv', 1, false, x264);
    const mp4 = await makeMedia('fuzz.mp4', 1, false, [...x264, '-movflags', '+faststart']);
    // The headers only: the first 4 KiB hold ftyp/moov (faststart) and the EBML header/Segment/Info.
    const seeds = [
      new Uint8Array(await readFile(mkv)).subarray(0, 4096),
      new Uint8Array(await readFile(mp4)).subarray(0, 4096),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        async (which, flips, cut) => {
          const bytes = Uint8Array.from(seeds[which]!);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const file = bytes.subarray(0, cut % (bytes.length + 1));
          const r = reader(file);
          const seconds = await probeDuration(r.read, file.length);
          if (seconds !== undefined) {
            expect(Number.isFinite(seconds)).toBe(true);
            expect(seconds).toBeGreaterThan(0);
            expect(seconds).toBeLessThanOrEqual(7 * 24 * 3600);
          }
          expect(r.reads).toBeLessThan(60);
        },
      ),
      { numRuns: 2000 },
    );
  }, 120_000);
});
