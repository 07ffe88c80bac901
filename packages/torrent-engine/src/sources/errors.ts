/**
 * The closed catalogue of peer-source errors. Each code is documented in
 * docs/design/peer-sources.md (a test checks it). Sources never throw these into the event loop:
 * they are logged and drive the retry back-off; the announce functions reject with them.
 */
export const SOURCE_ERROR_CODES = {
  TRACKER_URL_UNSUPPORTED: 'the tracker URL is not http:, https: or udp:, or is malformed',
  TRACKER_TIMEOUT: 'the tracker did not answer in time',
  TRACKER_NETWORK: 'the connection failed (DNS, refused, reset, unreachable)',
  TRACKER_HTTP_STATUS: 'the HTTP tracker answered with a non-2xx status',
  TRACKER_RESPONSE_TOO_LARGE: 'the response exceeded the size limit',
  TRACKER_BAD_RESPONSE: 'the response is not a valid tracker response (bencode, fields, packet layout)',
  TRACKER_FAILURE: 'the tracker refused the announce (HTTP "failure reason", UDP error action)',
  TRACKER_ABORTED: 'the announce was cancelled (the source stopped)',
  BENCODE_INVALID: 'the bytes are not valid bencode, or exceed a decoding limit',
} as const;

export type SourceErrorCode = keyof typeof SOURCE_ERROR_CODES;

export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    readonly code: SourceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
