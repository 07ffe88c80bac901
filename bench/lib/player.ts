// A simulated player over HTTP: reads a stream at the media's bit rate, seeks the way players do
// (close the connection, open a new range at the target), and can pause (stop reading while keeping
// the connection open). No decoding: what a client's scheduler sees is the read pattern, and this is
// the read pattern of mpv or VLC playing a local HTTP stream.
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { kernelQueuedBytes } from '../../packages/torrent-engine/test/peers/tcp-queues.js';

export interface SeekResult {
  status: number;
  /** From the new request to the first `want` bytes of body, ms. */
  latencyMs: number;
  /** The first `want` bytes of body (to check against the source: fast and wrong is not fast). */
  head: Buffer;
}

export interface PlayerOptions {
  /** Playback rate, bytes/s (the media's bit rate / 8). */
  bytesPerSecond: number;
  /**
   * How far ahead of the playback clock the player reads before pausing its reads. Players buffer a
   * few seconds; 4 MiB is about 5 s of the test video.
   */
  bufferBytes?: number;
  /** Bytes that count as "the seek landed" (a player can decode from there). Default 64 KiB. */
  want?: number;
}

/** Reads one URL like a playing player. `seek(0)` starts playback. */
export class SimulatedPlayer {
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Bytes received since the last seek, and when playback (re)started. */
  private received = 0;
  private playStart = 0;
  private offset = 0;
  closed = false;

  constructor(
    private readonly url: string,
    private readonly options: PlayerOptions,
  ) {}

  /** Byte position of the playhead's read side (seek target + bytes received since). */
  get position(): number {
    return this.offset + this.received;
  }

  /**
   * Abandon the current connection, GET `bytes=<offset>-` and resolve once `want` bytes arrived, then
   * keep reading at playback rate in the background.
   */
  seek(offset: number, timeoutMs = 60_000): Promise<SeekResult> {
    this.stopCurrent();
    this.offset = offset;
    this.received = 0;
    const want = this.options.want ?? 64 * 1024;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.stopCurrent();
        reject(new Error(`fewer than ${want} bytes at byte ${offset} within ${timeoutMs} ms`));
      }, timeoutMs);
      const req = request(this.url, { agent: false, headers: { Range: `bytes=${offset}-` } }, (res) => {
        this.res = res;
        if ((res.statusCode ?? 0) >= 300) {
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            latencyMs: performance.now() - started,
            head: Buffer.alloc(0),
          });
          this.stopCurrent();
          return;
        }
        const head: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (res !== this.res) return; // a chunk of a connection we already abandoned
          if (!settled) head.push(chunk);
          this.received += chunk.length;
          if (!settled && this.received >= want) {
            settled = true;
            clearTimeout(timer);
            this.playStart = performance.now();
            const body = Buffer.concat(head).subarray(0, want);
            resolve({ status: res.statusCode ?? 0, latencyMs: this.playStart - started, head: body });
          }
          if (settled) this.pace(res);
        });
        res.on('error', () => {});
      });
      req.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      });
      req.end();
      this.req = req;
    });
  }

  /** Pause the socket while we are further ahead of the playback clock than the buffer allows. */
  private pace(res: IncomingMessage): void {
    const elapsed = (performance.now() - this.playStart) / 1000;
    const allowed = (this.options.bufferBytes ?? 4 * 1024 * 1024) + elapsed * this.options.bytesPerSecond;
    const excess = this.received - allowed;
    if (excess <= 0 || res.isPaused()) return;
    res.pause();
    this.resumeTimer = setTimeout(() => res.resume(), (excess / this.options.bytesPerSecond) * 1000);
  }

  private stopCurrent(): void {
    clearTimeout(this.resumeTimer);
    this.res?.destroy();
    this.req?.destroy();
    this.req = undefined;
    this.res = undefined;
  }

  close(): void {
    this.closed = true;
    this.stopCurrent();
  }
}

/**
 * GET `bytes=0-` and read the first `bytes` bytes, then stop reading while keeping the connection
 * open: a player paused after a few seconds of playback. Resolves with a `close()` once `bytes` arrived.
 * Retries (every 25 ms) while the server refuses connections or answers non-2xx: the client may have
 * just been launched.
 */
export async function readThenHold(
  url: string,
  bytes: number,
  timeoutMs = 120_000,
): Promise<{ readMs: number; close: () => void; queued: () => number }> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  let last = 'no attempt';
  while (performance.now() < deadline) {
    try {
      const held = await readThenHoldOnce(url, bytes, deadline - performance.now());
      return {
        readMs: performance.now() - started,
        close: held.close,
        queued: () => kernelQueuedBytes(held.localPort),
      };
    } catch (err) {
      last = (err as Error).message;
      if (err instanceof Timeout) break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`read of the first ${bytes} bytes of ${url} failed within ${timeoutMs} ms: ${last}`);
}

class Timeout extends Error {}

function readThenHoldOnce(
  url: string,
  bytes: number,
  timeoutMs: number,
): Promise<{ close: () => void; localPort: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let done = false;
    const timer = setTimeout(() => {
      req.destroy();
      if (!done) reject(new Timeout(`only ${received} bytes in ${Math.round(timeoutMs)} ms`));
    }, timeoutMs);
    const req = request(url, { agent: false, headers: { Range: 'bytes=0-' } }, (res) => {
      if ((res.statusCode ?? 0) >= 300) {
        clearTimeout(timer);
        req.destroy();
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!done && received >= bytes) {
          done = true;
          clearTimeout(timer);
          // Stop reading: Node stops pulling from the socket, the kernel buffers fill, and TCP flow
          // control tells the server to stop sending. The connection stays open.
          res.pause();
          resolve({ close: () => req.destroy(), localPort: res.socket.localPort ?? 0 });
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!done) reject(err);
    });
    req.end();
  });
}
