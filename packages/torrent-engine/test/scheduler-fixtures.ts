// Small builders for scheduler tests: a snapshot with sensible defaults, peers, bitfields.
import { Bitfield } from '../src/bitfield.js';
import type { PeerState, RequestPlan, SchedulerSnapshot } from '../src/scheduler/index.js';

export const KIB = 1024;
export const MIB = 1024 * 1024;
export const BLOCK = 16 * KIB;

export function bits(length: number, set: Iterable<number> | 'all' | 'none' = 'none'): Bitfield {
  if (set === 'all') return Bitfield.full(length);
  const b = new Bitfield(length);
  if (set !== 'none') for (const i of set) b.set(i);
  return b;
}

export function peer(id: string, o: Partial<PeerState> & { pieces?: number } = {}): PeerState {
  const { pieces = 8, ...rest } = o;
  return {
    id,
    has: bits(pieces, 'all'),
    chokingUs: false,
    downloadRate: 1 * MIB,
    outstanding: 0,
    maxOutstanding: 250,
    snubbed: false,
    latencyMs: 50,
    ...rest,
  };
}

/** Defaults: 8 pieces of 64 KiB (4 blocks each), nothing had, everything wanted, t = 1,000,000 ms. */
export function snap(o: Partial<SchedulerSnapshot> = {}): SchedulerSnapshot {
  const pieceLength = o.pieceLength ?? 64 * KIB;
  const pieceCount = o.pieceCount ?? 8;
  const totalLength = o.totalLength ?? pieceCount * pieceLength;
  return {
    now: 1_000_000,
    pieceCount,
    pieceLength,
    blockSize: BLOCK,
    totalLength,
    have: bits(pieceCount),
    wanted: bits(pieceCount, 'all'),
    partial: new Map(),
    inFlight: [],
    peers: [],
    readers: [],
    ...o,
  };
}

/** Requests as compact strings: "peer:piece/begin". */
export function reqs(plan: RequestPlan): string[] {
  return plan.requests.map((r) => `${r.peerId}:${r.piece}/${r.begin / BLOCK}`);
}

export function piecesRequested(plan: RequestPlan): number[] {
  const seen: number[] = [];
  for (const r of plan.requests) if (!seen.includes(r.piece)) seen.push(r.piece);
  return seen;
}
