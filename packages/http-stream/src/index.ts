export type { SeekableFile, StreamSource } from './types.js';
