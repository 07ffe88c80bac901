/**
 * Where an MP4's `moov` atom sits. Players need `moov` (the index) before they can decode a frame;
 * when it follows `mdat`, a streaming player must first fetch the file's tail, which costs a seek
 * and, on a fresh swarm, a round of piece requests. `upload` warns about it and offers --faststart.
 * Reads only box headers (8 or 16 bytes each), never the media.
 */
import { open } from 'node:fs/promises';

export type MoovPosition = 'start' | 'end' | 'absent' | 'not-mp4';

const MP4_EXTENSIONS = /\.(mp4|m4v|mov|3gp)$/i;
/** Top-level boxes to walk before giving up: real files have a handful. */
const MAX_BOXES = 1024;

export async function moovPosition(path: string): Promise<MoovPosition> {
  if (!MP4_EXTENSIONS.test(path)) return 'not-mp4';
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const header = Buffer.alloc(16);
    let offset = 0;
    let sawMdat = false;
    for (let i = 0; i < MAX_BOXES && offset + 8 <= size; i++) {
      const { bytesRead } = await fh.read(header, 0, 16, offset);
      if (bytesRead < 8) break;
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (i === 0 && type !== 'ftyp') return 'not-mp4';
      if (boxSize === 1) {
        if (bytesRead < 16) break;
        boxSize = Number(header.readBigUInt64BE(8));
      } else if (boxSize === 0) {
        boxSize = size - offset; // extends to the end of the file
      }
      if (boxSize < 8) break; // corrupt: stop rather than loop
      if (type === 'moov') return sawMdat ? 'end' : 'start';
      if (type === 'mdat') sawMdat = true;
      offset += boxSize;
    }
    return 'absent';
  } finally {
    await fh.close();
  }
}
