import { BDict, bdecode } from '../metainfo/bdecode.js';
import { MetainfoError, parseInfo, parseTorrent, type TorrentMeta } from '../metainfo/index.js';
import type { ResumeData } from './types.js';

/** The torrent a resume file describes (a whole .torrent, or an info dict from ut_metadata). */
export function metaFromResume(data: ResumeData): TorrentMeta {
  const bytes = Buffer.from(data.torrent, 'base64');
  const top = bdecode(bytes);
  const meta = top instanceof BDict && top.get('info') !== undefined ? parseTorrent(bytes) : parseInfo(bytes);
  if (meta.infohash !== data.infohash) {
    throw new MetainfoError(
      'INFOHASH_MISMATCH',
      `resume torrent hashes to ${meta.infohash}, not ${data.infohash}`,
    );
  }
  return meta;
}
