export { STORAGE_ERROR_CODES, StorageError, type StorageErrorCode } from './errors.js';
export { Layout, type Segment } from './layout.js';
export { PieceStore, type PieceStoreEvents, type PieceStoreOptions } from './piece-store.js';
