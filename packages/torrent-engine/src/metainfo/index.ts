export { BDict, type BValue, bdecode, bencode, DEFAULT_LIMITS } from './bdecode.js';
export { METAINFO_ERROR_CODES, MetainfoError, type MetainfoErrorCode } from './errors.js';
export { type MagnetLink, parseMagnet, toMagnet } from './magnet.js';
export {
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_TOTAL_LENGTH,
  MIN_PIECE_LENGTH,
  parseInfo,
  parseTorrent,
} from './parse.js';
export { sanitizeElement, sanitizePath } from './sanitize.js';
export type { TorrentFile, TorrentMeta } from './types.js';
