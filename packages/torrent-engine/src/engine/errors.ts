/**
 * The engine's closed catalogue of errors (docs/design/engine.md#errors). The control API maps
 * each code to an HTTP status; the CLI shows the message as is, so messages say what to do.
 */
export const ENGINE_ERROR_CODES = {
  'bad-request': 400,
  'invalid-torrent': 400,
  'invalid-magnet': 400,
  'invalid-infohash': 400,
  'invalid-peer': 400,
  'invalid-selection': 400,
  'invalid-path': 400,
  'path-not-found': 404,
  'not-found': 404,
  'already-added': 409,
  'metadata-pending': 409,
  'forbidden-host': 403,
  'forbidden-origin': 403,
  'shutting-down': 503,
  internal: 500,
} as const;

export type EngineErrorCode = keyof typeof ENGINE_ERROR_CODES;

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }

  get status(): number {
    return ENGINE_ERROR_CODES[this.code];
  }
}
