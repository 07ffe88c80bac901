// First planner (kept behind the final signature): rarest-first over wanted pieces, reader
// windows first, block pipelining per peer up to its limit, no duplicates outside endgame.
import type { PeerState, PlannedRequest, RequestPlan, SchedulerSnapshot } from './types.js';

export function planRequests(s: SchedulerSnapshot): RequestPlan {
  const requests: PlannedRequest[] = [];
  const inFlightKeys = new Set<string>();
  const load = new Map<string, number>();
  for (const r of s.inFlight) {
    inFlightKeys.add(`${r.piece}:${r.begin}`);
    load.set(r.peerId, (load.get(r.peerId) ?? 0) + 1);
  }
  const availability = new Uint32Array(s.pieceCount);
  for (const p of s.peers) for (let i = 0; i < s.pieceCount; i++) if (p.has.get(i)) availability[i]!++;
  const urgent = new Set<number>();
  for (const r of s.readers) {
    const first = Math.floor(r.start / s.pieceLength);
    const last = Math.floor((Math.max(r.start, r.end) - 1) / s.pieceLength);
    for (let i = first; i <= last && i < s.pieceCount; i++) urgent.add(i);
  }
  const order: number[] = [];
  for (let i = 0; i < s.pieceCount; i++) if (s.wanted.get(i) && !s.have.get(i)) order.push(i);
  order.sort(
    (a, b) => Number(urgent.has(b)) - Number(urgent.has(a)) || availability[a]! - availability[b]! || a - b,
  );
  const capacity = (p: PeerState) =>
    Math.max(0, p.maxOutstanding - Math.max(p.outstanding, load.get(p.id) ?? 0));
  for (const piece of order) {
    const size = Math.min(s.pieceLength, s.totalLength - piece * s.pieceLength);
    const received = s.partial.get(piece)?.received;
    for (let begin = 0, b = 0; begin < size; begin += s.blockSize, b++) {
      if (received?.get(b) || inFlightKeys.has(`${piece}:${begin}`)) continue;
      const peer = s.peers.find((p) => !p.chokingUs && p.has.get(piece) && capacity(p) > 0);
      if (!peer) continue;
      requests.push({
        peerId: peer.id,
        piece,
        begin,
        length: Math.min(s.blockSize, size - begin),
        urgent: urgent.has(piece),
        duplicate: false,
      });
      inFlightKeys.add(`${piece}:${begin}`);
      load.set(peer.id, (load.get(peer.id) ?? 0) + 1);
    }
  }
  return { requests, cancels: [], endgame: false };
}
