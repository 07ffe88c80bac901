// The request planner: a pure function from a snapshot of one torrent to the requests to send and
// the requests to cancel. The algorithm, in prose, is in docs/design/scheduler.md; the phases here
// follow it:
//   1. windows  - blocks inside reader windows get deadlines (the time the player needs them);
//   2. in-flight - index what is already requested, cancel what no longer matters;
//   3. deadlines - earliest deadline first, each block to the peer expected to deliver it soonest
//                  (cheapest peer among those in time), stalled urgent blocks asked a second time;
//   4. background - rarest-first over the other wanted pieces, partial pieces first;
//   5. endgame   - when every needed block is in flight, idle peers duplicate the slowest ones.
import { availabilityOf } from './availability.js';
import {
  blockCount,
  blockKey,
  blockLength,
  type Geometry,
  geometryOf,
  piecesOverlapping,
} from './geometry.js';
import { resolveOptions } from './options.js';
import { eta, freeSlots, modelPeers, type PeerModel } from './peers.js';
import { tieBreak } from './rng.js';
import type {
  InFlightRequest,
  PlannedCancel,
  PlannedRequest,
  PlanOptions,
  RequestPlan,
  SchedulerSnapshot,
} from './types.js';

// A peer more than twice as far from delivering as the best one is not worth an urgent block: it
// arrives sooner by waiting for the best peer's next free slot (plus this slack, in ms).
const SLOW_PEER_FACTOR = 2;
const SLOW_PEER_SLACK_MS = 200;

export function planRequests(s: SchedulerSnapshot): RequestPlan {
  return new Planner(s).run();
}

class Planner {
  private readonly o: PlanOptions;
  private readonly g: Geometry;
  private readonly now: number;
  private readonly peers: PeerModel[];
  private readonly byId = new Map<string, PeerModel>();
  private readonly background: boolean;
  /** Pieces (wanted, not had) that touch a reader window. */
  private readonly windowPieces = new Set<number>();
  /** Block key -> earliest deadline over all readers. */
  private readonly deadlines = new Map<number, number>();
  /** Block key -> live requests for it (to a connected peer that does not choke us). */
  private readonly flight = new Map<number, InFlightRequest[]>();
  /** Block key -> every peer it is in flight to, live or not: never ask the same peer twice. */
  private readonly askedOf = new Map<number, Set<string>>();
  private readonly requests: PlannedRequest[] = [];
  private readonly cancels: PlannedCancel[] = [];
  private budget: number;
  private totalFree = 0;

  constructor(private readonly s: SchedulerSnapshot) {
    this.o = resolveOptions(s.options);
    this.g = geometryOf(s);
    this.now = s.now;
    this.peers = modelPeers(s.peers, this.o);
    for (const p of this.peers) {
      if (this.byId.has(p.id)) throw new RangeError(`scheduler: duplicate peer id ${p.id}`);
      this.byId.set(p.id, p);
    }
    this.background = s.background !== false;
    this.budget = s.maxTotalOutstanding ?? Number.POSITIVE_INFINITY;
  }

  run(): RequestPlan {
    this.collectWindows();
    this.indexInFlight();
    for (const p of this.peers) this.totalFree += freeSlots(p);
    this.planDeadlines();
    let endgame = false;
    if (this.background) {
      this.planBackground();
      endgame = this.everyNeededBlockInFlight();
      if (endgame) this.planEndgame();
    }
    return { requests: this.requests, cancels: this.cancels, endgame };
  }

  // --- 1. windows ---------------------------------------------------------------------------

  private collectWindows(): void {
    const { g, s, now } = this;
    for (const r of s.readers) {
      if (!(r.bytesPerSecond > 0) || !Number.isFinite(r.bytesPerSecond))
        throw new RangeError(`scheduler: reader ${r.id} has bytesPerSecond ${r.bytesPerSecond}, must be > 0`);
      const range = piecesOverlapping(g, r.start, r.end);
      if (!range) continue;
      const msPerByte = 1000 / r.bytesPerSecond;
      for (let piece = range[0]; piece <= range[1]; piece++) {
        if (!s.wanted.get(piece) || s.have.get(piece)) continue;
        this.windowPieces.add(piece);
        const received = s.partial.get(piece)?.received;
        const n = blockCount(g, piece);
        for (let b = 0; b < n; b++) {
          if (received?.get(b)) continue;
          const at = piece * g.pieceLength + b * g.blockSize;
          const deadline = now + Math.max(0, at - r.playhead) * msPerByte;
          const key = blockKey(g, piece, b);
          const prev = this.deadlines.get(key);
          if (prev === undefined || deadline < prev) this.deadlines.set(key, deadline);
        }
      }
    }
  }

  // --- 2. in-flight requests and cancels ----------------------------------------------------

  private indexInFlight(): void {
    const { g, s } = this;
    const kept = new Map<string, number>();
    const dropped = new Map<string, number>();
    for (const r of s.inFlight) {
      const peer = this.byId.get(r.peerId);
      if (
        !Number.isInteger(r.piece) ||
        r.piece < 0 ||
        r.piece >= g.pieceCount ||
        r.begin % g.blockSize !== 0
      ) {
        // Not a request we could have planned: it occupies a slot, the rest is the engine's business.
        if (peer) kept.set(r.peerId, (kept.get(r.peerId) ?? 0) + 1);
        continue;
      }
      const block = r.begin / g.blockSize;
      const reason = this.cancelReason(r.piece, block);
      if (reason) {
        this.cancels.push({ peerId: r.peerId, piece: r.piece, begin: r.begin, length: r.length, reason });
        dropped.set(r.peerId, (dropped.get(r.peerId) ?? 0) + 1);
        continue;
      }
      const key = blockKey(g, r.piece, block);
      let asked = this.askedOf.get(key);
      if (!asked) this.askedOf.set(key, (asked = new Set()));
      asked.add(r.peerId);
      if (!peer) continue;
      kept.set(r.peerId, (kept.get(r.peerId) ?? 0) + 1);
      peer.queueBytes += r.length;
      peer.inFlight.push(r);
      if (!peer.usable) continue; // a choking peer dropped our requests (BEP 3); the engine forgets them
      const list = this.flight.get(key);
      if (list) list.push(r);
      else this.flight.set(key, [r]);
    }
    let live = 0;
    for (const p of this.peers) {
      const inFlight = kept.get(p.id) ?? 0;
      // The engine may count requests it did not report; they occupy slots and queue bytes too.
      p.count = Math.max(inFlight, p.state.outstanding - (dropped.get(p.id) ?? 0));
      p.queueBytes += (p.count - inFlight) * g.blockSize;
      p.inFlight.sort((a, b) => a.requestedAt - b.requestedAt);
      live += p.count;
    }
    this.budget -= live;
  }

  private cancelReason(piece: number, block: number): PlannedCancel['reason'] | undefined {
    const { s } = this;
    if (s.have.get(piece) || s.partial.get(piece)?.received.get(block)) return 'have';
    if (!s.wanted.get(piece)) return 'unwanted';
    if (!this.background && !this.windowPieces.has(piece)) return 'seek';
    return undefined;
  }

  // --- 3. deadline-ordered window blocks ----------------------------------------------------

  private planDeadlines(): void {
    const { g, o, now } = this;
    const order = [...this.deadlines].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const holders = new Map<number, PeerModel[]>();
    for (const [key, deadline] of order) {
      if (this.budget <= 0) return;
      const urgent = deadline - now <= o.urgentHorizonMs;
      if (!urgent && this.totalFree <= 0) return; // the rest is not urgent either: sorted
      const live = this.flight.get(key);
      if (live && live.length > 0) {
        if (!urgent || live.length >= o.maxDuplicates) continue;
        if (!live.every((r) => this.stalled(r, deadline))) continue;
      }
      const piece = Math.floor(key / g.blocksPerPiece);
      const block = key - piece * g.blocksPerPiece;
      let peers = holders.get(piece);
      if (!peers) holders.set(piece, (peers = this.peers.filter((p) => p.usable && p.state.has.get(piece))));
      const len = blockLength(g, piece, block);
      const choice = this.choosePeer(peers, key, len, deadline, urgent);
      if (!choice) continue;
      if (choice.preempt) this.preempt(choice.peer);
      this.assign(choice.peer, piece, block, len, deadline, urgent, (live?.length ?? 0) > 0);
    }
  }

  /**
   * The peer expected to deliver the block soonest among those in time, preferring cheap peers
   * (issue 7: viewers before the origin) when several are in time. For urgent blocks, snubbed peers
   * are skipped, a full peer holding background requests may be preempted, and a peer much slower
   * than the best one is not used at all.
   */
  private choosePeer(
    peers: PeerModel[],
    key: number,
    len: number,
    deadline: number,
    urgent: boolean,
  ): { peer: PeerModel; preempt: boolean } | undefined {
    const asked = this.askedOf.get(key);
    let best: PeerModel | undefined;
    let bestEta = 0;
    let bestMeets = false;
    let bestPreempt = false;
    let ideal = Number.POSITIVE_INFINITY;
    let waitCost = Number.POSITIVE_INFINITY; // cheapest full peer still in time once a slot frees
    for (const p of peers) {
      if (asked?.has(p.id)) continue;
      if (urgent && p.snubbed) continue;
      const e = eta(p, this.now, len);
      let preempt = false;
      if (freeSlots(p) <= 0) {
        const later = e + len * p.msPerByte; // it could take the block once a slot frees
        if (!urgent) {
          if (p.usable && p.count > 0 && later <= deadline) waitCost = Math.min(waitCost, p.cost);
          continue;
        }
        ideal = Math.min(ideal, later);
        if (!this.preemptable(p)) continue;
        preempt = true;
      } else ideal = Math.min(ideal, e);
      const meets = e <= deadline;
      if (best) {
        if (bestMeets && !meets) continue;
        if (meets === bestMeets) {
          if (meets && p.cost !== best.cost) {
            if (p.cost > best.cost) continue;
          } else if (e > bestEta || (e === bestEta && (preempt || !bestPreempt))) continue;
        }
      }
      best = p;
      bestEta = e;
      bestMeets = meets;
      bestPreempt = preempt;
    }
    if (!best) return undefined;
    // Not urgent: rather wait for a cheaper peer (a viewer, not the origin) that will be in time.
    if (!urgent && waitCost < (bestMeets ? best.cost : Number.POSITIVE_INFINITY)) return undefined;
    if (
      urgent &&
      !bestMeets &&
      bestEta - this.now > SLOW_PEER_FACTOR * (ideal - this.now) + SLOW_PEER_SLACK_MS
    )
      return undefined;
    if (bestPreempt && this.budget <= 0) return undefined;
    return { peer: best, preempt: bestPreempt };
  }

  /** Has the peer a background request (outside every window) we could give up? */
  private preemptable(p: PeerModel): boolean {
    // Only a swap that fits: a peer over its limit (its reqq shrank) gets no new request at all.
    if (!p.usable || p.count > p.limit || p.limit === 0) return false;
    for (let i = p.inFlight.length - 1; i >= 0; i--) {
      const r = p.inFlight[i]!;
      if (!this.windowPieces.has(r.piece)) return true;
    }
    return false;
  }

  /** Cancel the peer's newest background request: it is the one that would be served last. */
  private preempt(p: PeerModel): void {
    for (let i = p.inFlight.length - 1; i >= 0; i--) {
      const r = p.inFlight[i]!;
      if (this.windowPieces.has(r.piece)) continue;
      p.inFlight.splice(i, 1);
      p.queueBytes -= r.length;
      p.count--;
      this.totalFree++;
      this.budget++;
      const key = blockKey(this.g, r.piece, r.begin / this.g.blockSize);
      const live = this.flight.get(key);
      if (live) {
        const j = live.indexOf(r);
        if (j >= 0) live.splice(j, 1);
      }
      this.cancels.push({
        peerId: r.peerId,
        piece: r.piece,
        begin: r.begin,
        length: r.length,
        reason: 'preempt',
      });
      return;
    }
  }

  /**
   * A live request for an urgent block is stalled when it has been out much longer than the peer's
   * whole queue should take, or its deadline has passed and it has been out longer than a lone
   * block from that peer would need.
   */
  private stalled(r: InFlightRequest, deadline: number): boolean {
    const p = this.byId.get(r.peerId);
    if (!p || p.snubbed) return true;
    const { o, now } = this;
    const elapsed = now - r.requestedAt;
    const expected = p.latencyMs + p.queueBytes * p.msPerByte;
    if (elapsed > o.stallFactor * expected + o.stallMarginMs) return true;
    return (
      now > deadline + o.stallMarginMs && elapsed > p.latencyMs + r.length * p.msPerByte + o.stallMarginMs
    );
  }

  private assign(
    p: PeerModel,
    piece: number,
    block: number,
    length: number,
    deadline: number | undefined,
    urgent: boolean,
    duplicate: boolean,
  ): void {
    const begin = block * this.g.blockSize;
    const req: PlannedRequest = { peerId: p.id, piece, begin, length, urgent, duplicate };
    if (deadline !== undefined) req.deadline = deadline;
    this.requests.push(req);
    if (freeSlots(p) > 0) this.totalFree--;
    p.queueBytes += length;
    p.count++;
    this.budget--;
    const key = blockKey(this.g, piece, block);
    const r: InFlightRequest = { peerId: p.id, piece, begin, length, requestedAt: this.now };
    p.inFlight.push(r);
    const live = this.flight.get(key);
    if (live) live.push(r);
    else this.flight.set(key, [r]);
    let asked = this.askedOf.get(key);
    if (!asked) this.askedOf.set(key, (asked = new Set()));
    asked.add(p.id);
  }

  // --- 4. background: rarest first ----------------------------------------------------------

  private planBackground(): void {
    if (this.totalFree <= 0 || this.budget <= 0) return;
    const { g, s } = this;
    const order = this.backgroundOrder();
    let open = this.peers.filter((p) => freeSlots(p) > 0);
    const costSorted = this.peers
      .filter((p) => p.usable)
      .sort((a, b) => a.cost - b.cost || a.order - b.order);
    const minCostAll = costSorted[0]?.cost ?? 1;
    for (const piece of order) {
      if (this.totalFree <= 0 || this.budget <= 0) return;
      let cands = open.filter((p) => p.state.has.get(piece));
      if (cands.length === 0) continue;
      // Never ask a costly peer (the origin) for a piece a cheaper connected peer can give us.
      let minCands = Number.POSITIVE_INFINITY;
      for (const p of cands) minCands = Math.min(minCands, p.cost);
      if (minCands > minCostAll) {
        const cheapest = costSorted.find((p) => p.state.has.get(piece));
        if (cheapest && cheapest.cost < minCands) continue;
      }
      cands = cands.filter((p) => p.cost === minCands);
      const received = s.partial.get(piece)?.received;
      const n = blockCount(g, piece);
      let filled = false;
      for (let b = 0; b < n && this.budget > 0; b++) {
        if (received?.get(b)) continue;
        const key = blockKey(g, piece, b);
        const asked = this.askedOf.get(key);
        if (this.flight.get(key)?.length) continue;
        let best: PeerModel | undefined;
        let bestEta = 0;
        const len = blockLength(g, piece, b);
        for (const p of cands) {
          if (freeSlots(p) <= 0 || asked?.has(p.id)) continue;
          const e = eta(p, this.now, len);
          if (!best || e < bestEta) {
            best = p;
            bestEta = e;
          }
        }
        if (!best) break;
        this.assign(best, piece, b, len, undefined, false, false);
        if (freeSlots(best) <= 0) filled = true;
      }
      if (filled) open = open.filter((p) => freeSlots(p) > 0);
    }
  }

  /** Wanted pieces outside windows: partial ones first, then rarest, ties by seeded hash, index. */
  private backgroundOrder(): Float64Array {
    const { g, s } = this;
    const availability = s.availability ?? availabilityOf(s.peers, g.pieceCount);
    const started = new Uint8Array(g.pieceCount);
    for (const piece of s.partial.keys()) if (piece >= 0 && piece < g.pieceCount) started[piece] = 1;
    for (const key of this.flight.keys()) started[Math.floor(key / g.blocksPerPiece)] = 1;
    const seed = s.seed ?? 0;
    // Pack the sort key into one float (53 bits): started (1) | availability (12) | hash (16) |
    // index (24), so a native typed-array sort orders 10,000 pieces in well under a millisecond.
    const INDEX_BITS = 2 ** 24;
    if (g.pieceCount > INDEX_BITS) throw new RangeError(`scheduler: ${g.pieceCount} pieces exceed 2^24`);
    const keys = new Float64Array(g.pieceCount);
    let n = 0;
    for (let i = 0; i < g.pieceCount; i++) {
      if (this.windowPieces.has(i) || !s.wanted.get(i) || s.have.get(i)) continue;
      const avail = Math.min(4095, availability[i] ?? 0);
      if (avail === 0) continue;
      const hi = ((started[i] ? 0 : 1) * 4096 + avail) * 65536 + (tieBreak(seed, i) & 0xffff);
      keys[n++] = hi * INDEX_BITS + i;
    }
    const sorted = keys.subarray(0, n).sort();
    for (let j = 0; j < n; j++) sorted[j] = sorted[j]! % INDEX_BITS;
    return sorted;
  }

  // --- 5. endgame ---------------------------------------------------------------------------

  /** True when at least one block is needed and every needed block is received or in flight. */
  private everyNeededBlockInFlight(): boolean {
    const { g, s } = this;
    let any = false;
    for (let i = 0; i < g.pieceCount; i++) {
      if (!s.wanted.get(i) || s.have.get(i)) continue;
      const received = s.partial.get(i)?.received;
      const n = blockCount(g, i);
      for (let b = 0; b < n; b++) {
        if (received?.get(b)) continue;
        if (!this.flight.get(blockKey(g, i, b))?.length) return false;
        any = true;
      }
    }
    return any;
  }

  /** Idle peers duplicate blocks still in flight elsewhere, oldest request first. */
  private planEndgame(): void {
    const { g, o } = this;
    const pending = [...this.flight]
      .filter(([, live]) => live.length > 0 && live.length < o.maxDuplicates)
      .sort((a, b) => a[1][0]!.requestedAt - b[1][0]!.requestedAt || a[0] - b[0]);
    for (const [key] of pending) {
      if (this.totalFree <= 0 || this.budget <= 0) return;
      const piece = Math.floor(key / g.blocksPerPiece);
      const block = key - piece * g.blocksPerPiece;
      const len = blockLength(g, piece, block);
      const asked = this.askedOf.get(key);
      let best: PeerModel | undefined;
      let bestEta = 0;
      for (const p of this.peers) {
        if (freeSlots(p) <= 0 || p.snubbed || asked?.has(p.id) || !p.state.has.get(piece)) continue;
        const e = eta(p, this.now, len);
        if (!best || e < bestEta) {
          best = p;
          bestEta = e;
        }
      }
      if (best) this.assign(best, piece, block, len, this.deadlines.get(key), false, true);
    }
  }
}
