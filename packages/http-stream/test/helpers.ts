/** Test doubles for SeekableFile: virtual (computed) files, slow files, and files from disk. */
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import type { SeekableFile, StreamSource } from '../src/index.js';

/** Byte i of virtual file `seed`: a cheap integer hash, so a wrong offset shows as wrong bytes. */
export function byteAt(seed: number, i: number): number {
  let x = Math.imul(i ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  // Mix in the high part of offsets beyond 2^32 (not reached by tests, but keeps it honest).
  return (x ^ Math.floor(i / 0x100000000)) & 0xff;
}

export function expectedBytes(seed: number, start: number, end: number): Buffer {
  const b = Buffer.allocUnsafe(end - start + 1);
  for (let i = start; i <= end; i++) b[i - start] = byteAt(seed, i);
  return b;
}

export interface ReaderLog {
  opened: Array<{ start: number; end: number }>;
  aborts: number;
  /** Readers opened and not yet ended, destroyed or aborted. */
  live: number;
  /** Bytes the readers have produced so far. */
  sent: number;
}

/** A file whose bytes are computed from the offset: any size, no memory. Respects backpressure. */
export function virtualFile(path: string, size: number, seed: number, log?: ReaderLog): SeekableFile {
  return {
    path,
    size,
    etag: `virtual:${seed}:${size}`,
    createReadStream(start, end, signal) {
      log?.opened.push({ start, end });
      if (log) log.live++;
      let pos = start;
      let done = false;
      const finish = () => {
        if (!done && log) log.live--;
        done = true;
      };
      const stream = new Readable({
        highWaterMark: 64 * 1024,
        read(n) {
          if (pos > end) {
            this.push(null);
            return;
          }
          const len = Math.min(n, 64 * 1024, end - pos + 1);
          if (log) log.sent += len;
          this.push(expectedBytes(seed, pos, pos + len - 1));
          pos += len;
        },
        destroy(err, cb) {
          finish();
          cb(err);
        },
      });
      stream.once('end', finish);
      signal.addEventListener(
        'abort',
        () => {
          if (log) log.aborts++;
          stream.destroy();
        },
        { once: true },
      );
      return stream;
    },
  };
}

/**
 * Like a torrent still downloading: sends `chunk` bytes `delayMs` after each read request, and
 * records aborts.
 */
export function slowFile(
  path: string,
  size: number,
  seed: number,
  opts: { chunk: number; delayMs: number },
  log: ReaderLog,
): SeekableFile {
  return {
    path,
    size,
    etag: `slow:${seed}:${size}`,
    createReadStream(start, end, signal) {
      log.opened.push({ start, end });
      log.live++;
      let pos = start;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = () => {
        if (!done) log.live--;
        done = true;
        if (timer) clearTimeout(timer);
      };
      const stream = new Readable({
        highWaterMark: opts.chunk,
        read() {
          if (timer) return;
          timer = setTimeout(() => {
            timer = undefined;
            if (pos > end) {
              this.push(null);
              return;
            }
            const len = Math.min(opts.chunk, end - pos + 1);
            log.sent += len;
            this.push(expectedBytes(seed, pos, pos + len - 1));
            pos += len;
          }, opts.delayMs);
        },
        destroy(err, cb) {
          finish();
          cb(err);
        },
      });
      stream.once('end', finish);
      signal.addEventListener(
        'abort',
        () => {
          log.aborts++;
          stream.destroy();
        },
        { once: true },
      );
      return stream;
    },
  };
}

/** A real file on disk, for ffprobe and mpv. */
export function diskFile(path: string, onDisk: string): SeekableFile {
  return {
    path,
    size: statSync(onDisk).size,
    etag: `disk:${onDisk}:${statSync(onDisk).mtimeMs}`,
    createReadStream(start, end, signal) {
      return createReadStream(onDisk, { start, end, signal });
    },
  };
}

export function memorySource(
  torrents: Record<string, SeekableFile[]>,
  names: Record<string, string> = {},
): StreamSource {
  return {
    files: (infohash) => torrents[infohash],
    name: (infohash) => names[infohash],
  };
}

export function newLog(): ReaderLog {
  return { opened: [], aborts: 0, live: 0, sent: 0 };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET over a real socket, whole body collected. */
export function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolve when `cond()` holds, polling on a short interval; reject after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface ParsedPart {
  contentType: string | undefined;
  start: number;
  end: number;
  size: number;
  data: Buffer;
}

/**
 * Parse a multipart/byteranges body strictly (RFC 9110 §14.6 with RFC 2046 framing as we send it):
 * throws on any deviation, so a framing bug fails the test.
 */
export function parseMultipart(body: Buffer, contentType: string): ParsedPart[] {
  const m = /^multipart\/byteranges; boundary=(.+)$/.exec(contentType);
  if (!m) throw new Error(`not multipart/byteranges: ${contentType}`);
  const delimiter = `--${m[1]}`;
  const parts: ParsedPart[] = [];
  let pos = 0;
  for (;;) {
    const expectDelim = (parts.length === 0 ? '' : '\r\n') + delimiter;
    if (body.toString('latin1', pos, pos + expectDelim.length) !== expectDelim) {
      throw new Error(`expected delimiter at ${pos}`);
    }
    pos += expectDelim.length;
    if (body.toString('latin1', pos, pos + 4) === '--\r\n') {
      if (pos + 4 !== body.length) throw new Error('bytes after the closing delimiter');
      return parts;
    }
    const headEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) throw new Error('unterminated part headers');
    const headers = body.toString('latin1', pos + 2, headEnd).split('\r\n');
    pos = headEnd + 4;
    let contentType: string | undefined;
    let range: RegExpExecArray | null = null;
    for (const h of headers) {
      const [name, ...rest] = h.split(':');
      const value = rest.join(':').trim();
      if (name?.toLowerCase() === 'content-type') contentType = value;
      if (name?.toLowerCase() === 'content-range') range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value);
    }
    if (!range) throw new Error(`part without a valid content-range: ${headers.join(' | ')}`);
    const start = Number(range[1]);
    const end = Number(range[2]);
    const data = body.subarray(pos, pos + end - start + 1);
    pos += end - start + 1;
    parts.push({ contentType, start, end, size: Number(range[3]), data });
  }
}
