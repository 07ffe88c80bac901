/**
 * Hard limits against hostile or broken peers. Each number bounds memory or work a single peer can
 * make us spend; a peer that crosses one is disconnected (and, for the protocol violations, banned
 * for the session by the swarm).
 */

/** BEP 3 block size everyone uses; we never request more. */
export const BLOCK_SIZE = 16 * 1024;

/** Largest block we serve. libtorrent refuses requests above 16 KiB by default; 128 KiB is the
 *  widely tolerated ceiling (BEP 3 "older versions" note), and anything larger is abuse. */
export const MAX_REQUEST_LENGTH = 128 * 1024;

/** Requests a peer may have queued at us. We advertise it as `reqq` in the BEP 10 handshake;
 *  libtorrent's default is 500, a generous peer never needs more. */
export const MAX_PEER_REQUESTS = 500;

/** Largest non-bitfield message: a 128 KiB piece plus its header, or a ut_metadata piece
 *  (16 KiB + dictionary). A bitfield may need more (one bit per piece): see maxMessageLength. */
export const MAX_MESSAGE_LENGTH = MAX_REQUEST_LENGTH + 13;

/** Handshake must complete in this time, else the socket is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 15_000;

/** A request not answered in this time counts against the peer (snubbed); the block is re-planned. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** No message at all for this long (keep-alives are sent every 55 s by both sides): drop. */
export const IDLE_TIMEOUT_MS = 150_000;

/** Largest metadata (info dictionary) accepted over ut_metadata (ut_metadata's own cap is 10 MB). */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;

/** PEX: how many peers one peer may teach us per torrent over a connection's lifetime. */
export const MAX_PEX_PEERS_PER_CONNECTION = 200;

/**
 * Most hashes in one BEP 52 answer we ask for: a file's piece layer of up to 8192 pieces
 * (libtorrent's own cap per request), or the 4096 leaves of a 64 MiB piece.
 */
export const MAX_HASHES_PER_ANSWER = 8192;

/** A `hashes` message (id, root, four numbers) carrying MAX_HASHES_PER_ANSWER hashes. */
export const MAX_HASHES_MESSAGE_LENGTH = 1 + 32 + 16 + 32 * MAX_HASHES_PER_ANSWER;

export function maxMessageLength(pieceCount: number | undefined): number {
  // 1 byte id + the bitfield; when the piece count is not known yet (magnet), allow the largest
  // bitfield a sane torrent has (bittorrent-protocol caps its own at 400,000 bits).
  const bitfieldBytes = Math.ceil((pieceCount ?? 400_000) / 8) + 1;
  return Math.max(MAX_MESSAGE_LENGTH, bitfieldBytes, MAX_HASHES_MESSAGE_LENGTH);
}
