import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { faststart, moovPosition, sampleClip } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dream-mp4-'));

describe('moov position and faststart, on real ffmpeg output', () => {
  const late = join(dir, 'late.mp4');
  const fixed = join(dir, 'fixed.mp4');
  beforeAll(async () => {
    await sampleClip(late, 2, { moovAtEnd: true });
  });

  it('sees a moov written after mdat, and faststart moves it to the front', async () => {
    expect(await moovPosition(late)).toBe('end');
    await faststart(late, fixed);
    expect(await moovPosition(fixed)).toBe('start');
    expect(await moovPosition(late)).toBe('end'); // the input is left as it was
  });

  it('says not-mp4 for other files and survives garbage', async () => {
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.from('\x00\x00\x00\x01ftypxxxxxxxx\x00\x00\x00\x00', 'latin1'));
    expect(['absent', 'not-mp4']).toContain(await moovPosition(junk));
    expect(await moovPosition(join(dir, 'a.mkv'))).toBe('not-mp4');
  });
});
