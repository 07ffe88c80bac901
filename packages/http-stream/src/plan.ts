/**
 * The response to a GET or HEAD of a file, as a pure plan: status, headers and which bytes make the
 * body. The route only executes it (opens readers, pipes bytes), so every HTTP semantic decision is
 * testable without I/O.
 */
import { evaluatePreconditions, formatEtag, ifRangeHolds, type Preconditions } from './conditional.js';
import { contentTypeFor } from './content-type.js';
import { type ErrorBody, problem } from './errors.js';
import { type ByteRange, parseRange } from './range.js';

export interface FileMeta {
  path: string;
  size: number;
  /** The source's identity string (SeekableFile.etag); hashed into the entity-tag. */
  etag: string;
}

export interface RequestMeta extends Preconditions {
  method: 'GET' | 'HEAD';
  range?: string | undefined;
}

export interface Part extends ByteRange {
  /** The part's delimiter and headers, written before its bytes. */
  head: string;
}

export type Body =
  | { kind: 'empty' }
  /** Bytes [start, end] of the file, inclusive. */
  | { kind: 'bytes'; range: ByteRange }
  /** multipart/byteranges: each part's head then its bytes, then `tail`. */
  | { kind: 'multipart'; parts: Part[]; tail: string }
  | { kind: 'error'; body: ErrorBody };

export interface ResponsePlan {
  status: number;
  headers: Record<string, string>;
  body: Body;
}

/**
 * @param boundary the multipart boundary to use if one is needed (random in production, fixed in
 *   tests); 1..70 characters of RFC 2046 bchars, never appearing in the data in practice.
 */
export function planResponse(file: FileMeta, req: RequestMeta, boundary: string): ResponsePlan {
  const etag = formatEtag(file.etag);
  const type = contentTypeFor(file.path);
  // Sent on every answer about this file, including 304 and 416 (§15.4.5 wants the ETag on a 304).
  const common: Record<string, string> = { 'accept-ranges': 'bytes', etag };

  const pre = evaluatePreconditions(req, etag);
  if (pre === 'failed') {
    const p = problem('PRECONDITION_FAILED', 'If-Match does not match the current entity-tag');
    return { status: p.status, headers: common, body: { kind: 'error', body: p.body } };
  }
  if (pre === 'not-modified') return { status: 304, headers: common, body: { kind: 'empty' } };

  const fileHeaders = {
    ...common,
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-disposition': contentDisposition(file.path),
  };
  const full = (): ResponsePlan => ({
    status: 200,
    headers: { ...fileHeaders, 'content-length': String(file.size) },
    body: file.size === 0 ? { kind: 'empty' } : { kind: 'bytes', range: { start: 0, end: file.size - 1 } },
  });

  // §13.1.5: If-Range false means ignore Range. (A Range on HEAD is honoured like on GET, so HEAD
  // shows exactly the headers GET would, as §9.3.2 asks.)
  const range = ifRangeHolds(req['if-range'], etag) ? req.range : undefined;
  const decision = parseRange(range, file.size);
  switch (decision.kind) {
    case 'none':
    case 'ignored':
      return full();
    case 'unsatisfiable': {
      const p = problem('RANGE_NOT_SATISFIABLE', `${decision.reason}; the file has ${file.size} bytes`);
      return {
        status: p.status,
        headers: { ...common, 'content-range': `bytes */${file.size}` },
        body: { kind: 'error', body: p.body },
      };
    }
    case 'ranges': {
      const [first, ...rest] = decision.ranges;
      // §15.3.7: one range (or ranges coalesced into one) is a plain 206 with Content-Range.
      if (first && rest.length === 0) {
        return {
          status: 206,
          headers: {
            ...fileHeaders,
            'content-range': `bytes ${first.start}-${first.end}/${file.size}`,
            'content-length': String(first.end - first.start + 1),
          },
          body: { kind: 'bytes', range: first },
        };
      }
      return multipart(decision.ranges, file.size, type, boundary, fileHeaders);
    }
  }
}

/** §14.6 multipart/byteranges; the length is computed exactly so Content-Length is always sent. */
function multipart(
  ranges: ByteRange[],
  size: number,
  type: string,
  boundary: string,
  fileHeaders: Record<string, string>,
): ResponsePlan {
  let length = 0;
  const parts = ranges.map((r, i): Part => {
    const head =
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
      `content-type: ${type}\r\n` +
      `content-range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`;
    length += Buffer.byteLength(head) + (r.end - r.start + 1);
    return { start: r.start, end: r.end, head };
  });
  const tail = `\r\n--${boundary}--\r\n`;
  length += Buffer.byteLength(tail);
  return {
    status: 206,
    headers: {
      ...fileHeaders,
      'content-type': `multipart/byteranges; boundary=${boundary}`,
      'content-length': String(length),
    },
    body: { kind: 'multipart', parts, tail },
  };
}

/**
 * `inline` with the file's base name: an ASCII fallback plus RFC 8187 `filename*` for the real name,
 * so a browser saving the file gets its name, and no quote or control character reaches the header.
 */
export function contentDisposition(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `inline; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
