// HTTP measurements of a stream URL: time to the first bytes of a range, retried while the server is
// not up yet, and what a server does with an unsatisfiable range.
//
// node:http with `agent: false` (a fresh connection per request, as a player's seek opens one) and
// times from performance.now(), so callers subtract their own origin ("the stream was asked for").
import { type IncomingMessage, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface RangeTiming {
  status: number;
  /** performance.now() when the response headers arrived. */
  headersAt: number;
  /** performance.now() when the first body byte arrived (undefined for an empty body). */
  firstByteAt: number | undefined;
  /** performance.now() when `want` bytes (or the whole body, if shorter) had arrived. */
  doneAt: number;
  /** Body bytes received (at most `want`). */
  bytes: number;
  headers: IncomingMessage['headers'];
}

export interface RangeOptions {
  /** Stop reading after this many body bytes (the connection is then closed). Default 64 KiB. */
  want?: number;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/**
 * GET `url` with `Range: bytes=<start>-<start + want - 1>` (or the given `range` header value) and
 * time the answer. Resolves with any status; rejects on connection errors and timeouts.
 */
export function timeRange(url: string, range: string, options: RangeOptions = {}): Promise<RangeTiming> {
  const want = options.want ?? 64 * 1024;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Range: range, ...options.headers } }, (res) => {
      const headersAt = performance.now();
      let firstByteAt: number | undefined;
      let bytes = 0;
      const finish = () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headersAt,
          firstByteAt,
          doneAt: performance.now(),
          bytes,
          headers: res.headers,
        });
        req.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        firstByteAt ??= performance.now();
        bytes = Math.min(want, bytes + chunk.length);
        if (bytes >= want) finish();
      });
      res.on('end', finish);
      res.on('error', () => finish());
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`GET ${url} (Range: ${range}): no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** The Range header value for `length` bytes from `start`. */
export function rangeOf(start: number, length: number): string {
  return `bytes=${start}-${start + length - 1}`;
}

/**
 * Like `timeRange`, but keeps retrying (every `retryMs`) while the server refuses the connection or
 * answers with a non-2xx status: a client just launched is not listening yet, or does not know the
 * torrent yet (webtorrent answers 404 until its metadata is loaded). Rejects after `timeoutMs` with
 * the last error.
 */
export async function timeRangeWhenUp(
  url: string,
  range: string,
  options: RangeOptions & { retryMs?: number } = {},
): Promise<RangeTiming> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = performance.now() + timeoutMs;
  let last = 'no attempt';
  while (performance.now() < deadline) {
    try {
      const timing = await timeRange(url, range, { ...options, timeoutMs: deadline - performance.now() });
      if (timing.status >= 200 && timing.status < 300 && timing.bytes > 0) return timing;
      last = `status ${timing.status}, ${timing.bytes} bytes`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, options.retryMs ?? 25));
  }
  throw new Error(`GET ${url} (Range: ${range}) did not succeed within ${timeoutMs} ms: ${last}`);
}

export interface BadRangeAnswer {
  status: number;
  contentLength: string | undefined;
  contentRange: string | undefined;
  /** Body bytes received before we stopped listening (see `cap`). */
  bodyBytes: number;
  /** True when we stopped reading at the cap or time limit before the body ended. */
  truncated: boolean;
}

/**
 * What a server does with `Range: bytes=999999999999-` (past the end of any test file): RFC 9110 says
 * 416 with `Content-Range: bytes *\/<size>` and no body to speak of. Reads at most `cap` bytes or for
 * `timeMs`, then hangs up, so a server that streams the whole file instead costs little.
 */
export function unsatisfiableRange(
  url: string,
  cap = 16 * 1024 * 1024,
  timeMs = 5_000,
): Promise<BadRangeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Range: 'bytes=999999999999-' } }, (res) => {
      let bodyBytes = 0;
      let done = false;
      const finish = (truncated: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          contentLength: res.headers['content-length'],
          contentRange: res.headers['content-range'],
          bodyBytes,
          truncated,
        });
        req.destroy();
      };
      const timer = setTimeout(() => finish(true), timeMs);
      res.on('data', (chunk: Buffer) => {
        bodyBytes += chunk.length;
        if (bodyBytes >= cap) finish(true);
      });
      res.on('end', () => finish(false));
      res.on('error', () => finish(true));
    });
    req.setTimeout(30_000, () =>
      req.destroy(new Error(`GET ${url}: no answer to an unsatisfiable range in 30 s`)),
    );
    req.on('error', reject);
    req.end();
  });
}
