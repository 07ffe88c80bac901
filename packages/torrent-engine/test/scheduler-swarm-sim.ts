// A deterministic swarm simulation of the scheduler's choices (issue 7): one origin and N viewers
// on a simulated clock. Every node uploads from a FIFO queue at its own upload rate; every viewer
// plays one file from a ReadaheadWindow and plans its requests with planRequests(), seeing the
// other nodes as peers (the origin with a higher cost). No choking, no TCP: only which blocks are
// asked of whom, and when. Used by scheduler-sim.test.ts and bench/scheduler.ts.
import { Bitfield } from '../src/bitfield.js';
import {
  type InFlightRequest,
  type PeerState,
  planRequests,
  ReadaheadWindow,
} from '../src/scheduler/index.js';

export interface SwarmOptions {
  viewers: number;
  /** Seconds between two viewers joining. */
  joinEverySeconds: number;
  pieces: number;
  pieceLength: number;
  originUpload: number; // B/s
  viewerUpload: number; // B/s
  /** Media rate, B/s; viewers read at `readFactor` times this when the data is there. */
  mediaRate: number;
  readFactor: number;
  /** Cost of the origin as a peer (1 = no preference for viewers). */
  originCost: number;
  /** Rarest-first beyond the window: off, or capped at this many requests. */
  background: false | number;
  latencyMs: number;
  readaheadSeconds: number;
  /** Stop after this many simulated seconds. */
  maxSeconds: number;
}

export interface ViewerReport {
  joinedAt: number; // ms
  firstByteAt: number | undefined; // ms after joining
  finishedAt: number | undefined; // ms after joining
  stalls: number;
  stalledMs: number;
  fromOrigin: number;
  fromPeers: number;
}

export interface SwarmReport {
  viewers: ViewerReport[];
  /** Origin upload as a share of all bytes delivered to viewers. */
  originShare: number;
}

const BLOCK = 16 * 1024;
const STEP = 20; // ms

interface Node {
  id: string;
  upload: number;
  busyUntil: number;
  have: Bitfield;
}

interface Pending {
  from: Node;
  to: Viewer;
  r: InFlightRequest;
  doneAt: number;
  cancelled: boolean;
}

interface Viewer extends Node {
  index: number;
  joinedAt: number;
  window: ReadaheadWindow;
  received: Map<number, Bitfield>;
  inFlight: InFlightRequest[];
  /** Bytes received per source in the last rate window, for rate estimates. */
  recent: Map<string, { at: number; bytes: number }[]>;
  report: ViewerReport;
  stalled: boolean;
}

export function simulateSwarm(o: SwarmOptions): SwarmReport {
  const total = o.pieces * o.pieceLength;
  const origin: Node = { id: 'origin', upload: o.originUpload, busyUntil: 0, have: Bitfield.full(o.pieces) };
  const viewers: Viewer[] = [];
  const pending: Pending[] = [];
  let now = 0;
  const blocksPerPiece = Math.ceil(o.pieceLength / BLOCK);

  const rate = (v: Viewer, from: string): number => {
    const list = (v.recent.get(from) ?? []).filter((x) => now - x.at <= 2000);
    v.recent.set(from, list);
    return list.reduce((n, x) => n + x.bytes, 0) / 2;
  };

  while (now < o.maxSeconds * 1000) {
    now += STEP;
    // joins
    while (viewers.length < o.viewers && now >= viewers.length * o.joinEverySeconds * 1000) {
      const index = viewers.length;
      viewers.push({
        id: `v${index}`,
        index,
        upload: o.viewerUpload,
        busyUntil: 0,
        have: new Bitfield(o.pieces),
        joinedAt: now,
        window: new ReadaheadWindow({
          fileOffset: 0,
          fileLength: total,
          pieceLength: o.pieceLength,
          bytesPerSecond: o.mediaRate,
          readaheadSeconds: o.readaheadSeconds,
        }),
        received: new Map(),
        inFlight: [],
        recent: new Map(),
        report: {
          joinedAt: now,
          firstByteAt: undefined,
          finishedAt: undefined,
          stalls: 0,
          stalledMs: 0,
          fromOrigin: 0,
          fromPeers: 0,
        },
        stalled: false,
      });
    }
    // deliveries
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      if (p.doneAt > now) continue;
      pending.splice(i--, 1);
      if (p.cancelled) continue;
      const v = p.to;
      v.inFlight = v.inFlight.filter((x) => x !== p.r);
      if (v.have.get(p.r.piece)) continue;
      let got = v.received.get(p.r.piece);
      if (!got) v.received.set(p.r.piece, (got = new Bitfield(blocksPerPiece)));
      const b = p.r.begin / BLOCK;
      if (got.get(b)) continue;
      got.set(b);
      if (p.from === origin) v.report.fromOrigin += p.r.length;
      else v.report.fromPeers += p.r.length;
      const list = v.recent.get(p.from.id) ?? [];
      list.push({ at: now, bytes: p.r.length });
      v.recent.set(p.from.id, list);
      const size = Math.min(o.pieceLength, total - p.r.piece * o.pieceLength);
      if (got.count() === Math.ceil(size / BLOCK)) {
        v.have.set(p.r.piece);
        v.received.delete(p.r.piece);
      }
    }
    for (const v of viewers) {
      // playback
      const pos = v.window.position;
      if (pos < total) {
        const piece = Math.floor(pos / o.pieceLength);
        if (v.have.get(piece)) {
          if (v.report.firstByteAt === undefined) v.report.firstByteAt = now - v.joinedAt;
          v.stalled = false;
          const end = Math.min((piece + 1) * o.pieceLength, pos + (o.mediaRate * o.readFactor * STEP) / 1000);
          v.window.read(pos, end - pos, now);
          if (v.window.position >= total) v.report.finishedAt = now - v.joinedAt;
        } else if (v.report.firstByteAt !== undefined) {
          if (!v.stalled) v.report.stalls++;
          v.stalled = true;
          v.report.stalledMs += STEP;
        }
      }
      // plan
      const others: Node[] = [origin, ...viewers.filter((x) => x !== v)];
      const peers: PeerState[] = others
        .filter((n) => n.have.count() > 0)
        .map((n) => ({
          id: n.id,
          has: n.have,
          chokingUs: false,
          downloadRate: rate(v, n.id),
          outstanding: 0,
          maxOutstanding: 250,
          snubbed: false,
          latencyMs: o.latencyMs * 2,
          cost: n === origin ? o.originCost : 1,
        }));
      const r = v.window.reader(v.id);
      const plan = planRequests({
        now,
        pieceCount: o.pieces,
        pieceLength: o.pieceLength,
        blockSize: BLOCK,
        totalLength: total,
        have: v.have,
        wanted: Bitfield.full(o.pieces),
        partial: new Map([...v.received].map(([i, received]) => [i, { received }])),
        inFlight: v.inFlight,
        peers,
        readers: r.end > r.start ? [r] : [],
        background: o.background !== false,
        maxBackgroundOutstanding: o.background === false ? undefined : o.background,
        seed: v.index,
      });
      for (const c of plan.cancels) {
        v.inFlight = v.inFlight.filter(
          (x) => !(x.peerId === c.peerId && x.piece === c.piece && x.begin === c.begin),
        );
        for (const p of pending)
          if (p.to === v && p.from.id === c.peerId && p.r.piece === c.piece && p.r.begin === c.begin)
            p.cancelled = true;
      }
      for (const q of plan.requests) {
        const from = others.find((n) => n.id === q.peerId)!;
        const req: InFlightRequest = {
          peerId: q.peerId,
          piece: q.piece,
          begin: q.begin,
          length: q.length,
          requestedAt: now,
        };
        v.inFlight.push(req);
        // The uploader serves its queue in order at its upload rate (a cancelled request that was
        // not served yet costs nothing: its slot time is given back only approximately).
        const start = Math.max(from.busyUntil, now + o.latencyMs);
        from.busyUntil = start + (q.length / from.upload) * 1000;
        pending.push({ from, to: v, r: req, doneAt: from.busyUntil + o.latencyMs, cancelled: false });
      }
    }
    if (viewers.length === o.viewers && viewers.every((v) => v.report.finishedAt !== undefined)) break;
  }
  let origin_ = 0;
  let all = 0;
  for (const v of viewers) {
    origin_ += v.report.fromOrigin;
    all += v.report.fromOrigin + v.report.fromPeers;
  }
  return { viewers: viewers.map((v) => v.report), originShare: all === 0 ? 0 : origin_ / all };
}
