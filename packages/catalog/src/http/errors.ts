/**
 * Every error the catalog API answers with: a closed list of codes, each with its HTTP status.
 * docs/design/catalog.md documents each one (a test checks that it does). Bodies are
 * `{ "error": { "code": "...", "message": "..." } }`.
 */
export const CATALOG_ERROR_CODES = {
  bad_request: 400,
  invalid_infohash: 400,
  infohash_mismatch: 400,
  invalid_title: 400,
  invalid_magnet: 400,
  invalid_entry: 400,
  invalid_public_key: 400,
  invalid_time: 400,
  invalid_page: 400,
  stale_request: 400,
  missing_signature: 401,
  bad_signature: 401,
  not_owner: 403,
  not_found: 404,
  replayed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
} as const;

export type CatalogErrorCode = keyof typeof CATALOG_ERROR_CODES;

export class CatalogHttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
  ) {
    super(message);
    this.status = CATALOG_ERROR_CODES[code];
  }
}

export interface ErrorBody {
  error: { code: CatalogErrorCode; message: string };
}

export function errorBody(code: CatalogErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
