// The v1 info-hash of a .torrent: SHA-1 of the exact bytes of its `info` dictionary. A tiny bencode
// walker finds those bytes (re-encoding a decoded dictionary could change them).
import { createHash } from 'node:crypto';

/** Offset just past the bencoded value starting at `at`. */
function skip(buf: Buffer, at: number): number {
  const c = buf[at];
  if (c === 0x69) return buf.indexOf(0x65, at) + 1; // i<n>e
  if (c === 0x6c || c === 0x64) {
    // l...e, d...e
    let p = at + 1;
    while (buf[p] !== 0x65) {
      if (p >= buf.length) throw new Error('truncated bencode');
      p = skip(buf, p);
    }
    return p + 1;
  }
  const colon = buf.indexOf(0x3a, at); // <len>:<bytes>
  if (colon < 0) throw new Error(`bad bencode at ${at}`);
  return colon + 1 + Number(buf.toString('latin1', at, colon));
}

export function infoHashOf(torrent: Buffer): string {
  if (torrent[0] !== 0x64) throw new Error('a .torrent is a bencoded dictionary');
  let p = 1;
  while (p < torrent.length && torrent[p] !== 0x65) {
    const keyEnd = skip(torrent, p);
    const key = torrent.toString('latin1', torrent.indexOf(0x3a, p) + 1, keyEnd);
    const valueEnd = skip(torrent, keyEnd);
    if (key === 'info') return createHash('sha1').update(torrent.subarray(keyEnd, valueEnd)).digest('hex');
    p = valueEnd;
  }
  throw new Error('no info dictionary in the .torrent');
}
