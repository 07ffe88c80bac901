/**
 * The closed catalogue of error answers. Every error body is `{"error":{"code","message"}}`; a test
 * checks each code is documented in docs/design/http-range.md.
 */
export const ERROR_STATUS = {
  /** The infohash is neither 40 hex digits nor 32 base32 characters. */
  BAD_INFOHASH: 400,
  /** The file part of the URL is malformed or hostile: `..`, NUL, backslash, bad percent-encoding. */
  BAD_PATH: 400,
  /** The file part of the URL is longer than MAX_PATH_BYTES. */
  PATH_TOO_LONG: 400,
  /** The Host header names a host this server does not answer for (DNS rebinding defence). */
  FOREIGN_HOST: 403,
  /** A page on another site, not in stream.cors_origins, asked for a stream (src/cross-site.ts). */
  CROSS_SITE: 403,
  /** No torrent with this infohash is known to the source. */
  UNKNOWN_TORRENT: 404,
  /** The torrent has no file with this index or path. */
  FILE_NOT_FOUND: 404,
  /** No route matches the URL. */
  NOT_FOUND: 404,
  /** The file went away while the request waited for its bytes (its source stopped or was removed). */
  GONE: 410,
  /** If-Match did not match the file's entity-tag. */
  PRECONDITION_FAILED: 412,
  /** The Range header is well-formed but inverted or starts past the end of the file. */
  RANGE_NOT_SATISFIABLE: 416,
  /** Anything unexpected; the message says what. */
  INTERNAL: 500,
  /**
   * The source knows this torrent but cannot list its files yet, or no longer can (a magnet whose
   * metadata has not come, a paused one, a failed one); the message says why and what to do.
   */
  NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export interface HttpProblem {
  status: number;
  body: ErrorBody;
}

export function problem(code: ErrorCode, message: string): HttpProblem {
  return { status: ERROR_STATUS[code], body: { error: { code, message } } };
}

/**
 * Thrown by a StreamSource's `files()` for a torrent it knows but cannot list: answered 503
 * NOT_READY with the error's message, rather than 404 (which would say the torrent is unknown).
 */
export class SourceNotReady extends Error {
  override readonly name = 'SourceNotReady';
}
