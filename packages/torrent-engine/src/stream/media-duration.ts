/**
 * The duration of a video file read from its container header, so the engine knows the stream's
 * media rate (size / duration) without a catalog entry: readahead windows are sized in seconds of
 * media (issue 4) and a guess of 1 MiB/s is wrong by 2x either way for most files.
 *
 * Two containers cover what people stream: ISO BMFF (MP4, MOV, M4V: the `mvhd` box inside `moov`,
 * wherever `moov` sits: players read the same bytes, and the file's head and tail are primed
 * anyway) and Matroska/WebM (`Duration` in the Segment's `Info`, near the head). Anything else, or a
 * header that does not parse, gives undefined and the engine keeps its guess. The parser only walks
 * headers: a few small reads, bounded in count, never the media data.
 */

/** Reads `length` bytes at `offset` of the file (verified bytes: the caller waits for pieces). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** Top-level MP4 boxes walked before giving up (ftyp, free, mdat, moov, ... rarely more than 6). */
const MAX_TOP_BOXES = 16;
/** Boxes inside moov walked before giving up (mvhd is first in practice). */
const MAX_MOOV_CHILDREN = 32;
/** How much of a Matroska file's head is read to find Segment > Info. */
const MKV_HEAD_BYTES = 64 * 1024;
/** Durations beyond this are nonsense (a broken header), not a week-long video. */
const MAX_SECONDS = 7 * 24 * 3600;

export async function probeDuration(read: ReadAt, size: number): Promise<number | undefined> {
  if (size < 16) return undefined;
  const head = await read(0, Math.min(size, 16));
  if (ascii(head, 4, 4) === 'ftyp') return sane(await mp4Duration(read, size));
  if (u32(head, 0) === EBML_HEADER) return sane(await matroskaDuration(read, size));
  return undefined;
}

function sane(seconds: number | undefined): number | undefined {
  return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_SECONDS
    ? seconds
    : undefined;
}

// ---- ISO BMFF ------------------------------------------------------------------------------------

interface Box {
  type: string;
  /** Where the payload starts (after the 8- or 16-byte header). */
  body: number;
  end: number;
}

async function boxAt(read: ReadAt, offset: number, limit: number): Promise<Box | undefined> {
  if (offset + 8 > limit) return undefined;
  const h = await read(offset, Math.min(16, limit - offset));
  let size = u32(h, 0);
  const type = ascii(h, 4, 4);
  let body = offset + 8;
  if (size === 1) {
    if (h.length < 16) return undefined;
    size = Number(new DataView(h.buffer, h.byteOffset, h.byteLength).getBigUint64(8));
    body = offset + 16;
  } else if (size === 0) size = limit - offset; // "to the end of the file"
  if (size < body - offset || offset + size > limit) return undefined;
  return { type, body, end: offset + size };
}

async function mp4Duration(read: ReadAt, size: number): Promise<number | undefined> {
  let offset = 0;
  for (let i = 0; i < MAX_TOP_BOXES; i++) {
    const box = await boxAt(read, offset, size);
    if (!box) return undefined;
    if (box.type === 'moov') return mvhdIn(read, box);
    offset = box.end;
  }
  return undefined;
}

async function mvhdIn(read: ReadAt, moov: Box): Promise<number | undefined> {
  let offset = moov.body;
  for (let i = 0; i < MAX_MOOV_CHILDREN; i++) {
    const box = await boxAt(read, offset, moov.end);
    if (!box) return undefined;
    if (box.type === 'mvhd') {
      if (box.end - box.body < 20) return undefined; // too short for even a version 0 header
      const b = await read(box.body, Math.min(32, box.end - box.body));
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      // version(1) flags(3), then v0: creation(4) modification(4) timescale(4) duration(4);
      // v1: creation(8) modification(8) timescale(4) duration(8).
      if (b[0] === 1) {
        if (b.length < 32) return undefined;
        const timescale = v.getUint32(20);
        const duration = Number(v.getBigUint64(24));
        return timescale > 0 && duration !== 2 ** 64 - 1 ? duration / timescale : undefined;
      }
      if (b.length < 20) return undefined;
      const timescale = v.getUint32(12);
      const duration = v.getUint32(16);
      // 0xffffffff: duration unknown (fragmented files say so; their fragments are not read here).
      return timescale > 0 && duration !== 0xffffffff ? duration / timescale : undefined;
    }
    offset = box.end;
  }
  return undefined;
}

// ---- Matroska / WebM -----------------------------------------------------------------------------

const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TIMESTAMP_SCALE = 0x2ad7b1;
const DURATION = 0x4489;
/** Top-level elements that may come before Info inside the Segment. */
const SKIPPABLE = new Set([0x114d9b74 /* SeekHead */, 0xec /* Void */, 0xbf /* CRC-32 */]);

interface Element {
  id: number;
  /** Where the payload starts. */
  body: number;
  /** Payload size; undefined = unknown (live streams). */
  size: number | undefined;
}

/** An EBML variable-length integer at `at`: its value (marker bit kept for IDs) and length. */
function vint(b: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number } | undefined {
  const first = b[at];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23; // 1 for 0b1xxxxxxx ... 8 for 0b00000001
  if (length > 8 || at + length > b.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = b[at + i]!;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  if (!keepMarker && allOnes) return { value: -1, length }; // unknown size
  return { value, length };
}

function element(b: Uint8Array, at: number): Element | undefined {
  const id = vint(b, at, true);
  if (!id) return undefined;
  const size = vint(b, at + id.length, false);
  if (!size) return undefined;
  return { id: id.value, body: at + id.length + size.length, size: size.value < 0 ? undefined : size.value };
}

async function matroskaDuration(read: ReadAt, size: number): Promise<number | undefined> {
  const b = await read(0, Math.min(size, MKV_HEAD_BYTES));
  const header = element(b, 0);
  if (!header || header.id !== EBML_HEADER || header.size === undefined) return undefined;
  const segment = element(b, header.body + header.size);
  if (!segment || segment.id !== SEGMENT) return undefined;
  let at = segment.body;
  while (at < b.length) {
    const e = element(b, at);
    if (!e || e.size === undefined) return undefined;
    if (e.id === INFO) return infoDuration(b, e);
    if (!SKIPPABLE.has(e.id)) return undefined; // Info comes before clusters and tracks in practice
    at = e.body + e.size;
  }
  return undefined;
}

function infoDuration(b: Uint8Array, info: Element): number | undefined {
  const end = Math.min(b.length, info.body + (info.size ?? 0));
  let scale = 1_000_000; // nanoseconds per timestamp unit, the default
  let duration: number | undefined;
  let at = info.body;
  while (at < end) {
    const e = element(b, at);
    if (!e || e.size === undefined || e.body + e.size > end) break;
    const v = new DataView(b.buffer, b.byteOffset + e.body, e.size);
    if (e.id === TIMESTAMP_SCALE && e.size >= 1 && e.size <= 8) {
      let n = 0;
      for (let i = 0; i < e.size; i++) n = n * 256 + v.getUint8(i);
      if (n > 0) scale = n;
    } else if (e.id === DURATION) {
      if (e.size === 4) duration = v.getFloat32(0);
      else if (e.size === 8) duration = v.getFloat64(0);
    }
    at = e.body + e.size;
  }
  return duration === undefined ? undefined : (duration * scale) / 1e9;
}

// ---- bytes ---------------------------------------------------------------------------------------

function u32(b: Uint8Array, at: number): number {
  if (at + 4 > b.length) return -1;
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

function ascii(b: Uint8Array, at: number, length: number): string {
  if (at + length > b.length) return '';
  return String.fromCharCode(...b.subarray(at, at + length));
}
