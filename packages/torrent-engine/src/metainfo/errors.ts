/**
 * The closed catalogue of metainfo errors. Every code is documented in docs/design/storage.md (a test
 * checks that). A .torrent or magnet is untrusted input: parsing it never throws anything else.
 */
export const METAINFO_ERROR_CODES = [
  'BENCODE_TOO_LARGE',
  'BENCODE_INVALID',
  'BENCODE_TOO_DEEP',
  'BENCODE_TOO_MANY_TOKENS',
  'BENCODE_TRAILING_DATA',
  'INVALID_FIELD',
  'BAD_PIECE_LENGTH',
  'BAD_PIECES',
  'LENGTH_MISMATCH',
  'TOO_MANY_PIECES',
  'TOO_MANY_FILES',
  'TOTAL_TOO_LARGE',
  'EMPTY_TORRENT',
  'V2_ONLY',
  'V2_MISMATCH',
  'BAD_PIECE_LAYERS',
  'INFOHASH_MISMATCH',
  'BAD_MAGNET',
] as const;

export type MetainfoErrorCode = (typeof METAINFO_ERROR_CODES)[number];

export class MetainfoError extends Error {
  constructor(
    readonly code: MetainfoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MetainfoError';
  }
}
