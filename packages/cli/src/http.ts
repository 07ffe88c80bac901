/**
 * HTTP to the local daemons over node:http, not fetch: a CLI process makes a handful of requests
 * and exits, and the first fetch() in a process loads undici (~50 ms on the CI machine), which sat
 * on the path of every command, `dream-cli stream` included (timed from the user's command).
 */
import { type IncomingMessage, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  statusText: string;
  body: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Give up after this long; none by default (a stream may wait for its first peer). */
  timeoutMs?: number;
  /** Give up when this aborts (the request fails with the signal's reason). */
  signal?: AbortSignal;
}

/** Thrown when no answer came: `code` is the socket's (ECONNREFUSED, ...) or 'ETIMEDOUT'. */
export class HttpUnreachable extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Sends a request and resolves with the response head, its body left to the caller. */
export function httpOpen(url: string, options: HttpOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const timer = later(options.timeoutMs, () => {
      req.destroy(new HttpUnreachable('ETIMEDOUT', `no answer within ${options.timeoutMs} ms`));
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err instanceof HttpUnreachable ? err : new HttpUnreachable(err.code ?? 'EIO', err.message));
    });
    req.end(options.body);
  });
}

/** A whole request: status and body text (the body within the same time limit). */
export async function httpText(url: string, options: HttpOptions): Promise<HttpAnswer> {
  const started = Date.now();
  const res = await httpOpen(url, options);
  const left =
    options.timeoutMs === undefined ? undefined : Math.max(1, options.timeoutMs - (Date.now() - started));
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = later(left, () => {
      res.destroy(new HttpUnreachable('ETIMEDOUT', `the answer did not end within ${options.timeoutMs} ms`));
    });
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    res.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err instanceof HttpUnreachable ? err : new HttpUnreachable(err.code ?? 'EIO', err.message));
    });
  });
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function later(ms: number | undefined, run: () => void): NodeJS.Timeout | undefined {
  return ms === undefined ? undefined : setTimeout(run, ms);
}

/**
 * The `{"error":{"code","message"}}` body both daemons answer errors with (control API and stream
 * server); undefined for any other body.
 */
export function errorOf(body: string): { code?: string; message?: string } | undefined {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (!e || typeof e !== 'object') return undefined;
    return {
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.message === 'string' ? { message: e.message } : {}),
    };
  } catch {
    return undefined;
  }
}
