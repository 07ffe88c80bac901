// The planner's working view of a peer: its rate and latency estimates, how much we have queued at
// it, and how many more requests it may take.
import { packBits } from './bits.js';
import type { InFlightRequest, PeerState, PlanOptions } from './types.js';

export interface PeerModel {
  state: PeerState;
  id: string;
  /** Input order: the last tie-breaker, so plans are deterministic. */
  order: number;
  rate: number; // B/s, > 0
  msPerByte: number; // 1000 / rate
  latencyMs: number;
  cost: number;
  /** Can we request from it at all (not choking us)? */
  usable: boolean;
  snubbed: boolean;
  /** Bytes requested and not yet received (in flight before this plan plus planned now). */
  queueBytes: number;
  /** Requests outstanding (in flight, or the engine's own count when larger), plus those planned now. */
  count: number;
  /** Pipeline target: the most requests it should have outstanding. */
  limit: number;
  /** Its background requests (outside every window) in flight before this plan: preemptable. */
  backgroundCount: number;
  /** Those requests: listed only when the planner first preempts. */
  background: InFlightRequest[] | undefined;
  /** Its bitfield, packed (bits.ts). */
  has: Uint8Array;
}

/**
 * How many requests to keep outstanding at a peer: enough to cover `pipelineSeconds` of its rate,
 * at least minPipeline, at most maxPipeline and never more than the peer accepts. A snubbed peer
 * gets one request: enough to notice it recovering, not enough to strand blocks.
 */
export function pipelineDepth(
  rate: number,
  maxOutstanding: number,
  snubbed: boolean,
  o: PlanOptions,
  blockSize = 16384,
): number {
  const cap = Math.max(0, Math.floor(maxOutstanding));
  if (snubbed) return Math.min(1, cap);
  const wanted = Math.ceil((rate * o.pipelineSeconds) / blockSize);
  return Math.min(cap, Math.max(o.minPipeline, Math.min(o.maxPipeline, wanted)));
}

/**
 * Requests for a new connection's first round trip: enough to keep a link of `freshLinkRate` busy
 * for its measured round trip (nothing is measured of its rate before the first blocks are back).
 */
export function firstRoundTripDepth(
  rttMs: number,
  maxOutstanding: number,
  o: PlanOptions,
  blockSize = 16384,
): number {
  const wanted = Math.ceil((o.freshLinkRate * Math.max(0, rttMs)) / 1000 / blockSize);
  return Math.min(Math.max(0, Math.floor(maxOutstanding)), o.maxPipeline, wanted);
}

export function modelPeers(
  peers: PeerState[],
  o: PlanOptions,
  pieceCount: number,
  blockSize: number,
): PeerModel[] {
  return peers.map((p, order) => {
    const rate = p.downloadRate > 0 && Number.isFinite(p.downloadRate) ? p.downloadRate : o.unknownPeerRate;
    const depth = pipelineDepth(rate, p.maxOutstanding, p.snubbed, o, blockSize);
    return {
      state: p,
      id: p.id,
      order,
      rate,
      msPerByte: 1000 / rate,
      latencyMs: p.latencyMs !== undefined && p.latencyMs >= 0 ? p.latencyMs : o.defaultLatencyMs,
      cost: p.cost !== undefined && p.cost > 0 ? p.cost : 1,
      usable: !p.chokingUs,
      snubbed: p.snubbed,
      queueBytes: 0,
      count: 0,
      limit:
        p.fresh && !p.snubbed && p.rttMs !== undefined
          ? Math.max(depth, firstRoundTripDepth(p.rttMs, p.maxOutstanding, o, blockSize))
          : depth,
      backgroundCount: 0,
      background: undefined,
      has: packBits(p.has, pieceCount),
    };
  });
}
