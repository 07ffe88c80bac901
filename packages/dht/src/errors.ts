/**
 * The local API's error catalogue: every error the API returns has one of these codes, in a body
 * `{ "error": { "code", "message" } }`. docs/design/dht.md lists them all (a test checks it).
 */

export const API_ERRORS = {
  forbidden_host: {
    status: 403,
    summary: 'The Host header is not 127.0.0.1, localhost or [::1] (DNS rebinding guard).',
  },
  forbidden_origin: {
    status: 403,
    summary: 'The request came from a web page (it has an Origin header); the API answers programs only.',
  },
  invalid_infohash: { status: 400, summary: 'An infohash is not 40 hexadecimal digits.' },
  invalid_port: { status: 400, summary: 'An announce port is not an integer 0-65535 (0: implied port).' },
  invalid_timeout: { status: 400, summary: 'timeout_ms is not an integer 100-120000.' },
  invalid_target: { status: 400, summary: 'A BEP 44 target is not 40 hexadecimal digits.' },
  invalid_key: {
    status: 400,
    summary: 'A BEP 44 public key is not 64 hex digits (32 bytes), or a salt is over 64 bytes.',
  },
  invalid_signature: { status: 400, summary: 'A BEP 44 mutable put has a signature that does not verify.' },
  invalid_body: { status: 400, summary: 'The request body is missing, not JSON, or lacks a field.' },
  value_too_large: { status: 413, summary: 'A BEP 44 value is empty or over 1000 bytes.' },
  not_found: { status: 404, summary: 'No such route, or no BEP 44 value found for the target.' },
  cas_mismatch: { status: 409, summary: 'BEP 44 compare-and-swap failed: the stored seq is not cas.' },
  seq_too_low: { status: 409, summary: 'BEP 44: the seq is not greater than the stored one.' },
  too_many_lookups: {
    status: 429,
    summary: 'Too many find-peers streams are open at once; retry when one ends.',
  },
  put_failed: { status: 502, summary: 'The DHT put reached no node.' },
  shutting_down: { status: 503, summary: 'The daemon is stopping.' },
  internal: { status: 500, summary: 'A bug: please report it with the log.' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
  }

  toJSON(): { error: { code: ApiErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
