/** Storage errors: a closed catalogue, documented in docs/design/storage.md. */
export const STORAGE_ERROR_CODES = [
  'NOT_VERIFIED',
  'OUT_OF_RANGE',
  'BAD_PIECE_SIZE',
  'UNSAFE_PATH',
  'CONTENT_MISSING',
  'CLOSED',
  'IN_USE',
  'IN_PLACE',
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}
