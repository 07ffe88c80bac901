// The request planner: a pure function from a snapshot of one torrent to the requests to send and
// the requests to cancel. The algorithm, in prose, is in docs/design/scheduler.md; the phases here
// follow it:
//   1. windows    - blocks inside reader windows get deadlines (when the player needs them);
//   2. in flight  - index what is already requested, cancel what no longer matters;
//   3. deadlines  - earliest deadline first, each block to the peer expected to deliver it soonest
//                   (the cheapest among those in time), stalled urgent blocks asked a second time;
//   4. background - rarest first over the other wanted pieces, started pieces first;
//   5. endgame    - when every needed block is in flight, idle peers duplicate the oldest ones.
import { countAvailability } from './availability.js';
import { bit, packBits } from './bits.js';
import { BlockTable, type Out } from './block-table.js';
import {
  blockCount,
  blockKey,
  blockLength,
  type Geometry,
  geometryOf,
  piecesOverlapping,
} from './geometry.js';
import { resolveOptions } from './options.js';
import { modelPeers, type PeerModel } from './peers.js';
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
  private readonly have: Uint8Array;
  private readonly wanted: Uint8Array;
  /** Pieces (wanted, not had) that touch a reader window, one byte each. */
  private readonly inWindow: Uint8Array;
  /** Block key -> earliest deadline over all readers. */
  private readonly deadlines = new Map<number, number>();
  /** Requests out per block (not cancelled), to live peers or not. */
  private readonly flight: BlockTable;
  /** Kept in-flight background requests and their peers, for preemption. */
  private readonly backgroundOut: InFlightRequest[] = [];
  private readonly backgroundPeer: PeerModel[] = [];
  private readonly requests: PlannedRequest[] = [];
  private readonly cancels: PlannedCancel[] = [];
  private budget: number;
  private backgroundBudget = Number.POSITIVE_INFINITY;
  private totalFree = 0;

  constructor(private readonly s: SchedulerSnapshot) {
    this.o = resolveOptions(s.options);
    this.g = geometryOf(s);
    this.now = s.now;
    this.peers = modelPeers(s.peers, this.o, this.g.pieceCount, this.g.blockSize);
    for (const p of this.peers) {
      if (this.byId.has(p.id)) throw new RangeError(`scheduler: duplicate peer id ${p.id}`);
      this.byId.set(p.id, p);
    }
    this.background = s.background !== false;
    this.budget = s.maxTotalOutstanding ?? Number.POSITIVE_INFINITY;
    this.have = packBits(s.have, this.g.pieceCount);
    this.wanted = packBits(s.wanted, this.g.pieceCount);
    this.inWindow = new Uint8Array(this.g.pieceCount);
    this.flight = new BlockTable(this.g.pieceCount);
  }

  run(): RequestPlan {
    this.collectWindows();
    this.indexInFlight();
    for (const p of this.peers) this.totalFree += this.free(p);
    this.planDeadlines();
    let endgame = false;
    if (this.background) {
      if (this.s.maxBackgroundOutstanding !== undefined) {
        let out = 0;
        for (const p of this.peers) out += p.backgroundCount;
        this.backgroundBudget = this.s.maxBackgroundOutstanding - out;
      }
      this.planBackground();
      endgame = this.everyNeededBlockInFlight();
      if (endgame) this.planEndgame();
    }
    return { requests: this.requests, cancels: this.cancels, endgame };
  }

  private needed(piece: number): boolean {
    return bit(this.wanted, piece) && !bit(this.have, piece);
  }

  private free(p: PeerModel): number {
    return p.usable && p.limit > p.count ? p.limit - p.count : 0;
  }

  private isLive(r: Out): boolean {
    return r.dead !== true && this.byId.get(r.peerId)?.usable === true;
  }

  private liveCount(list: Out[] | undefined): number {
    if (!list) return 0;
    let n = 0;
    for (const r of list) if (this.isLive(r)) n++;
    return n;
  }

  // --- 1. windows ---------------------------------------------------------------------------

  private collectWindows(): void {
    const { g, s, now } = this;
    for (const r of s.readers) {
      if (!(r.bytesPerSecond > 0) || !Number.isFinite(r.bytesPerSecond))
        throw new RangeError(`scheduler: reader ${r.id} has bytesPerSecond ${r.bytesPerSecond}, must be > 0`);
      const range = piecesOverlapping(g, r.start, Math.min(r.end, r.start + this.o.maxWindowBytes));
      if (!range) continue;
      const msPerByte = 1000 / r.bytesPerSecond;
      for (let piece = range[0]; piece <= range[1]; piece++) {
        if (!this.needed(piece)) continue;
        this.inWindow[piece] = 1;
        const received = s.partial.get(piece)?.received;
        const n = blockCount(g, piece);
        // No byte is served before its whole piece is verified, so every block of a piece is due
        // when the first byte the reader needs from it is. Per-block deadlines let another
        // window's blocks (the tail prime, a second reader) cut into the piece the player waits
        // for: measured, the first piece completed after 2 MiB instead of 1.
        const pieceStart = piece * g.pieceLength;
        const firstNeeded = Math.max(pieceStart, r.start);
        const pieceDeadline = now + Math.max(0, firstNeeded - r.playhead) * msPerByte;
        // Unless its blocks are checked one by one (BEP 52): then each is due when the reader
        // reaches it, and those before the reader only when the piece's last byte is.
        const blockwise = s.blockwise?.get(piece) === true;
        const lastByte = Math.min(pieceStart + g.pieceLength, g.totalLength) - 1;
        for (let b = 0; b < n; b++) {
          if (received?.get(b)) continue;
          let deadline = pieceDeadline;
          if (blockwise) {
            const blockStart = pieceStart + b * g.blockSize;
            const due = blockStart + g.blockSize <= r.start ? lastByte : Math.max(blockStart, r.start);
            deadline = now + Math.max(0, due - r.playhead) * msPerByte;
          }
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
    const inFlight = new Int32Array(this.peers.length);
    const dropped = new Int32Array(this.peers.length);
    for (const r of s.inFlight) {
      const peer = this.byId.get(r.peerId);
      const valid =
        Number.isInteger(r.piece) && r.piece >= 0 && r.piece < g.pieceCount && r.begin % g.blockSize === 0;
      const block = r.begin / g.blockSize;
      const reason = valid ? this.cancelReason(r.piece, block) : undefined;
      if (reason) {
        this.cancels.push({ peerId: r.peerId, piece: r.piece, begin: r.begin, length: r.length, reason });
        if (peer) dropped[peer.order]!++;
        continue;
      }
      if (peer) {
        inFlight[peer.order]!++;
        peer.queueBytes += r.length;
      }
      // Not a request we could have planned: it occupies a slot, the rest is the engine's business.
      if (!valid) continue;
      if (peer && !this.inWindow[r.piece]) {
        peer.backgroundCount++;
        this.backgroundOut.push(r);
        this.backgroundPeer.push(peer);
      }
      this.flight.add(r.piece, block, r);
    }
    let live = 0;
    for (const p of this.peers) {
      const n = inFlight[p.order]!;
      // The engine may count requests it did not report; they occupy slots and queue bytes too.
      p.count = Math.max(n, p.state.outstanding - dropped[p.order]!);
      p.queueBytes += (p.count - n) * g.blockSize;
      live += p.count;
    }
    this.budget -= live;
  }

  /** Each peer's preemptable requests; built on the first preemption. */
  private collectBackground(): void {
    for (const p of this.peers) p.background = [];
    for (let i = 0; i < this.backgroundOut.length; i++)
      this.backgroundPeer[i]!.background!.push(this.backgroundOut[i]!);
  }

  private cancelReason(piece: number, block: number): PlannedCancel['reason'] | undefined {
    if (bit(this.have, piece) || this.s.partial.get(piece)?.received.get(block)) return 'have';
    if (!bit(this.wanted, piece)) return 'unwanted';
    if (!this.background && !this.inWindow[piece]) return 'seek';
    return undefined;
  }

  // --- 3. deadline-ordered window blocks ----------------------------------------------------

  private planDeadlines(): void {
    const { g, o, now } = this;
    const order = [...this.deadlines].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const holders = new Map<number, PeerModel[]>();
    for (const [key, deadline] of order) {
      const urgent = deadline - now <= o.urgentHorizonMs;
      // Sorted: once a block is not urgent, none of the rest is. Without free slots (or with the
      // torrent's budget spent) only urgent blocks go on, by preempting background requests.
      if (!urgent && (this.totalFree <= 0 || this.budget <= 0)) return;
      const piece = Math.floor(key / g.blocksPerPiece);
      const block = key - piece * g.blocksPerPiece;
      const list = this.flight.get(piece, block);
      const live = this.liveCount(list);
      if (live > 0) {
        if (!urgent || live >= o.maxDuplicates) continue;
        if (!list!.every((r) => !this.isLive(r) || this.stalled(r, deadline))) continue;
      }
      let peers = holders.get(piece);
      if (!peers) holders.set(piece, (peers = this.peers.filter((p) => p.usable && bit(p.has, piece))));
      const len = blockLength(g, piece, block);
      const choice = this.choosePeer(peers, list, len, deadline, urgent);
      if (!choice) continue;
      if (choice.preempt) this.preempt(choice.peer);
      this.assign(choice.peer, piece, block, len, deadline, urgent, live > 0);
    }
  }

  /**
   * The peer expected to deliver the block soonest among those in time, preferring cheap peers
   * (issue 7: viewers before the origin) when several are in time. For urgent blocks, snubbed peers
   * are skipped, a full peer holding background requests may be preempted, and a peer much slower
   * than the best one is not used at all. Not urgent: wait for a cheaper full peer still in time.
   */
  private choosePeer(
    peers: PeerModel[],
    asked: Out[] | undefined,
    len: number,
    deadline: number,
    urgent: boolean,
  ): { peer: PeerModel; preempt: boolean } | undefined {
    const now = this.now;
    let best: PeerModel | undefined;
    let bestEta = 0;
    let bestMeets = false;
    let bestPreempt = false;
    let ideal = Number.POSITIVE_INFINITY;
    let waitCost = Number.POSITIVE_INFINITY;
    for (const p of peers) {
      if (urgent && p.snubbed) continue;
      if (asked?.some((r) => r.peerId === p.id)) continue;
      const e = now + p.latencyMs + (p.queueBytes + len) * p.msPerByte;
      let preempt = false;
      if (p.count >= p.limit || this.budget <= 0) {
        const later = e + len * p.msPerByte; // it could take the block once a slot frees
        if (!urgent) {
          if (p.count > 0 && later <= deadline && p.cost < waitCost) waitCost = p.cost;
          continue;
        }
        if (later < ideal) ideal = later;
        // A swap must fit the torrent's budget too (it is over when the budget shrank).
        if (this.budget < 0 || !this.preemptable(p)) continue;
        preempt = true;
      } else if (e < ideal) ideal = e;
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
    if (!urgent && waitCost < (bestMeets ? best.cost : Number.POSITIVE_INFINITY)) return undefined;
    if (urgent && !bestMeets && bestEta - now > SLOW_PEER_FACTOR * (ideal - now) + SLOW_PEER_SLACK_MS)
      return undefined;
    return { peer: best, preempt: bestPreempt };
  }

  /** Has the peer a background request (outside every window) we could give up? */
  private preemptable(p: PeerModel): boolean {
    // Only a swap that fits: a peer over its limit (its reqq shrank) gets no new request at all.
    return p.usable && p.backgroundCount > 0 && p.count <= p.limit && p.limit > 0;
  }

  /** Cancel the peer's newest background request: it is the one that would be served last. */
  private preempt(p: PeerModel): void {
    if (!p.background) this.collectBackground();
    const mine = p.background!;
    if (mine.length === 0) return;
    let newest = 0;
    for (let i = 1; i < mine.length; i++) if (mine[i]!.requestedAt > mine[newest]!.requestedAt) newest = i;
    const r = mine[newest]!;
    mine[newest] = mine[mine.length - 1]!;
    mine.pop();
    p.backgroundCount--;
    p.queueBytes -= r.length;
    p.count--;
    this.totalFree++;
    this.budget++;
    const list = this.flight.get(r.piece, r.begin / this.g.blockSize);
    // Keep it listed but dead: never ask this peer for the block again in this plan.
    if (list) list[list.indexOf(r)] = { peerId: r.peerId, length: r.length, dead: true };
    this.cancels.push({
      peerId: r.peerId,
      piece: r.piece,
      begin: r.begin,
      length: r.length,
      reason: 'preempt',
    });
  }

  /**
   * A live request for an urgent block is stalled when it has been out much longer than the peer's
   * whole queue should take, or its deadline has passed and it has been out longer than a lone
   * block from that peer would need.
   */
  private stalled(r: Out, deadline: number): boolean {
    const p = this.byId.get(r.peerId);
    if (!p || p.snubbed) return true;
    const { o, now } = this;
    const elapsed = now - (r.requestedAt ?? now);
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
    if (p.count < p.limit) this.totalFree--;
    p.queueBytes += length;
    p.count++;
    this.budget--;
    this.flight.add(piece, block, req);
  }

  // --- 4. background: rarest first ----------------------------------------------------------

  private planBackground(): void {
    if (this.totalFree <= 0 || this.budget <= 0 || this.backgroundBudget <= 0) return;
    const { g, s, now } = this;
    const order = this.backgroundOrder();
    const open = this.peers.filter((p) => this.free(p) > 0);
    let openCount = open.length;
    const usable = this.peers.filter((p) => p.usable).sort((a, b) => a.cost - b.cost || a.order - b.order);
    const minCostAll = usable[0]?.cost ?? 1;
    const maxOpen = s.maxOpenPieces ?? Number.POSITIVE_INFINITY;
    let opened = Number.isFinite(maxOpen) ? this.openPieces(usable) : 0;
    const cands: PeerModel[] = [];
    for (let j = 0; j < order.length; j++) {
      if (this.totalFree <= 0 || this.budget <= 0 || this.backgroundBudget <= 0) return;
      const piece = order[j]!;
      const opens = !s.partial.has(piece) && !this.flight.started(piece);
      // Started pieces come first in the order: from the first new one on, all are new.
      if (opens && opened >= maxOpen) return;
      cands.length = 0;
      let minCost = Number.POSITIVE_INFINITY;
      for (let k = 0; k < openCount; k++) {
        const p = open[k]!;
        if (!bit(p.has, piece)) continue;
        cands.push(p);
        if (p.cost < minCost) minCost = p.cost;
      }
      if (cands.length === 0) continue;
      // Never ask a costly peer (the origin) for a piece a cheaper connected peer can give us.
      if (minCost > minCostAll && usable.some((p) => p.cost < minCost && bit(p.has, piece))) continue;
      const received = s.partial.get(piece)?.received;
      const n = blockCount(g, piece);
      let filled = false;
      // The whole piece goes to one peer while it has room (the one expected to deliver soonest):
      // pieces complete sooner, and a piece failing its hash has one suspect.
      let cur: PeerModel | undefined;
      for (let b = 0; b < n && this.budget > 0 && this.backgroundBudget > 0; b++) {
        if (received?.get(b)) continue;
        const list = this.flight.get(piece, b);
        if (list && this.liveCount(list) > 0) continue;
        const len = blockLength(g, piece, b);
        if (!cur || cur.count >= cur.limit || list?.some((r) => r.peerId === cur!.id)) {
          cur = undefined;
          let bestEta = 0;
          for (const p of cands) {
            if (p.cost !== minCost || p.count >= p.limit) continue;
            if (list?.some((r) => r.peerId === p.id)) continue;
            const e = now + p.latencyMs + (p.queueBytes + len) * p.msPerByte;
            if (!cur || e < bestEta) {
              cur = p;
              bestEta = e;
            }
          }
          if (!cur) break;
        }
        this.assign(cur, piece, b, len, undefined, false, false);
        this.backgroundBudget--;
        if (cur.count >= cur.limit) filled = true;
      }
      if (opens && this.flight.started(piece)) opened++;
      if (filled) {
        // Drop full peers from the open list, in place.
        let w = 0;
        for (let k = 0; k < openCount; k++) if (this.free(open[k]!) > 0) open[w++] = open[k]!;
        openCount = w;
      }
    }
  }

  /** Needed pieces received in part or requested that one of `usable` has (see maxOpenPieces). */
  private openPieces(usable: PeerModel[]): number {
    const open = new Set<number>(this.s.partial.keys());
    for (const r of this.s.inFlight) open.add(r.piece);
    let n = 0;
    for (const piece of open) {
      if (piece < 0 || piece >= this.g.pieceCount || !this.needed(piece)) continue;
      if (usable.some((p) => bit(p.has, piece))) n++;
    }
    return n;
  }

  /** Wanted pieces outside windows: started ones first, then rarest, ties by seeded hash, index. */
  private backgroundOrder(): Float64Array {
    const { g, s } = this;
    const availability =
      s.availability ??
      countAvailability(
        this.peers.map((p) => p.has),
        g.pieceCount,
      );
    const started = new Uint8Array(g.pieceCount);
    for (const piece of s.partial.keys()) if (piece >= 0 && piece < g.pieceCount) started[piece] = 1;
    const seed = s.seed ?? 0;
    // Pack the sort key into one float (53 bits): started (1) | availability (12) | hash (16) |
    // index (24), so a native typed-array sort orders 10,000 pieces in about a millisecond.
    const INDEX_BITS = 2 ** 24;
    if (g.pieceCount > INDEX_BITS) throw new RangeError(`scheduler: ${g.pieceCount} pieces exceed 2^24`);
    const keys = new Float64Array(g.pieceCount);
    let n = 0;
    for (let i = 0; i < g.pieceCount; i++) {
      if (this.inWindow[i] || !this.needed(i)) continue;
      const avail = Math.min(4095, availability[i] ?? 0);
      if (avail === 0) continue;
      const hi =
        ((started[i] || this.flight.started(i) ? 0 : 1) * 4096 + avail) * 65536 +
        (tieBreak(seed, i) & 0xffff);
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
      if (!this.needed(i)) continue;
      const received = s.partial.get(i)?.received;
      const n = blockCount(g, i);
      for (let b = 0; b < n; b++) {
        if (received?.get(b)) continue;
        if (this.liveCount(this.flight.get(i, b)) === 0) return false;
        any = true;
      }
    }
    return any;
  }

  /** Idle peers duplicate blocks still in flight elsewhere, oldest request first. */
  private planEndgame(): void {
    const { g, o } = this;
    const pending: [number, number][] = [];
    this.flight.forEach((piece, block, list) => {
      const live = list.filter((r) => this.isLive(r));
      if (live.length > 0 && live.length < o.maxDuplicates)
        pending.push([blockKey(g, piece, block), live[0]!.requestedAt ?? this.now]);
    });
    pending.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    for (const [key] of pending) {
      if (this.totalFree <= 0 || this.budget <= 0) return;
      const piece = Math.floor(key / g.blocksPerPiece);
      const block = key - piece * g.blocksPerPiece;
      if (!this.inWindow[piece] && this.backgroundBudget <= 0) continue;
      const len = blockLength(g, piece, block);
      const list = this.flight.get(piece, block);
      let best: PeerModel | undefined;
      let bestEta = 0;
      for (const p of this.peers) {
        if (p.snubbed || this.free(p) <= 0 || !bit(p.has, piece)) continue;
        if (list?.some((r) => r.peerId === p.id)) continue;
        const e = this.now + p.latencyMs + (p.queueBytes + len) * p.msPerByte;
        if (!best || e < bestEta) {
          best = p;
          bestEta = e;
        }
      }
      if (!best) continue;
      this.assign(best, piece, block, len, this.deadlines.get(key), false, true);
      if (!this.inWindow[piece]) this.backgroundBudget--;
    }
  }
}
