export { streamableTorrent } from './engine-adapter.js';
export { createFileStream, type FileStreamOptions } from './file-stream.js';
export { type StreamFile, type StreamSourceOptions, TorrentStreamSource } from './source.js';
export type { RegisteredReader, StreamableTorrent, VerifiedPieces } from './types.js';
