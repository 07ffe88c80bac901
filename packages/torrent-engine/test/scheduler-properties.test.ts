// Property tests: thousands of random snapshots, and the invariants every plan must keep.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../src/bitfield.js';
import { countAvailability, countAvailabilitySimple } from '../src/scheduler/availability.js';
import {
  DEFAULT_PLAN_OPTIONS,
  type InFlightRequest,
  type PeerState,
  planRequests,
  ReadaheadWindow,
  type ReaderState,
  type RequestPlan,
  type SchedulerSnapshot,
} from '../src/scheduler/index.js';

const NOW = 5_000_000;

function bitsFrom(length: number, flags: boolean[]): Bitfield {
  const b = new Bitfield(length);
  for (let i = 0; i < length; i++) if (flags[i % flags.length]) b.set(i);
  return b;
}

const snapshotArb: fc.Arbitrary<SchedulerSnapshot> = fc
  .record({
    pieceCount: fc.integer({ min: 1, max: 24 }),
    blockSize: fc.constantFrom(16384, 8192),
    pieceLength: fc.constantFrom(8192, 16384, 32768, 49152, 65536),
    lastFraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
    seed: fc.integer(),
    background: fc.boolean(),
    budget: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    backgroundCap: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  })
  .chain((g) => {
    const lastSize = Math.max(1, Math.round(g.pieceLength * g.lastFraction));
    const totalLength = (g.pieceCount - 1) * g.pieceLength + lastSize;
    const blocksPerPiece = Math.ceil(g.pieceLength / g.blockSize);
    const flags = fc.array(fc.boolean(), { minLength: 1, maxLength: 24 });
    const peerArb = fc.record({
      hasAll: fc.boolean(),
      has: flags,
      chokingUs: fc.boolean(),
      downloadRate: fc.oneof(fc.constant(0), fc.integer({ min: 1024, max: 20 * 1024 * 1024 })),
      outstanding: fc.integer({ min: 0, max: 6 }),
      maxOutstanding: fc.integer({ min: 0, max: 24 }),
      snubbed: fc.boolean(),
      latencyMs: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
      cost: fc.option(fc.constantFrom(1, 1, 10), { nil: undefined }),
    });
    const readerArb = fc.record({
      start: fc.integer({ min: 0, max: totalLength }),
      length: fc.integer({ min: 0, max: 6 * g.pieceLength }),
      behind: fc.integer({ min: 0, max: 2 * g.pieceLength }),
      bytesPerSecond: fc.integer({ min: 8 * 1024, max: 8 * 1024 * 1024 }),
    });
    const flightArb = fc.record({
      peer: fc.nat(),
      piece: fc.nat(),
      block: fc.nat(),
      age: fc.integer({ min: 0, max: 20_000 }),
    });
    return fc
      .record({
        have: flags,
        wanted: flags,
        partial: fc.array(fc.record({ piece: fc.nat(), received: flags }), { maxLength: 6 }),
        peers: fc.array(peerArb, { maxLength: 7 }),
        readers: fc.array(readerArb, { maxLength: 3 }),
        flights: fc.array(flightArb, { maxLength: 30 }),
      })
      .map((r): SchedulerSnapshot => {
        const peers: PeerState[] = r.peers.map((p, i) => ({
          id: `p${i}`,
          has: p.hasAll ? Bitfield.full(g.pieceCount) : bitsFrom(g.pieceCount, p.has),
          chokingUs: p.chokingUs,
          downloadRate: p.downloadRate,
          outstanding: p.outstanding,
          maxOutstanding: p.maxOutstanding,
          snubbed: p.snubbed,
          latencyMs: p.latencyMs,
          cost: p.cost,
        }));
        const partial = new Map<number, { received: Bitfield }>();
        for (const p of r.partial)
          partial.set(p.piece % g.pieceCount, { received: bitsFrom(blocksPerPiece, p.received) });
        const inFlight: InFlightRequest[] = [];
        const seen = new Set<string>();
        if (peers.length > 0) {
          for (const f of r.flights) {
            const piece = f.piece % g.pieceCount;
            const size = piece === g.pieceCount - 1 ? lastSize : g.pieceLength;
            const blocks = Math.ceil(size / g.blockSize);
            const block = f.block % blocks;
            const peerId = peers[f.peer % peers.length]!.id;
            const id = `${peerId}:${piece}:${block}`;
            if (seen.has(id)) continue; // the engine never has the same request out twice to one peer
            seen.add(id);
            const begin = block * g.blockSize;
            const length = Math.min(g.blockSize, size - begin);
            inFlight.push({ peerId, piece, begin, length, requestedAt: NOW - f.age });
          }
        }
        const readers: ReaderState[] = r.readers.map((x, i) => ({
          id: `r${i}`,
          start: x.start,
          end: Math.min(totalLength, x.start + x.length),
          playhead: Math.max(0, x.start - x.behind),
          bytesPerSecond: x.bytesPerSecond,
        }));
        return {
          now: NOW,
          pieceCount: g.pieceCount,
          pieceLength: g.pieceLength,
          blockSize: g.blockSize,
          totalLength,
          have: bitsFrom(g.pieceCount, r.have),
          wanted: bitsFrom(g.pieceCount, r.wanted),
          partial,
          inFlight,
          peers,
          readers,
          seed: g.seed,
          background: g.background,
          maxTotalOutstanding: g.budget,
        };
      });
  });

function pieceSize(s: SchedulerSnapshot, piece: number): number {
  return piece === s.pieceCount - 1 ? s.totalLength - piece * s.pieceLength : s.pieceLength;
}

function inWindow(s: SchedulerSnapshot, piece: number): boolean {
  const start = piece * s.pieceLength;
  const end = start + pieceSize(s, piece);
  return s.readers.some((r) => r.start < end && r.end > start && r.end > r.start);
}

const key = (peerId: string, piece: number, begin: number) => `${peerId}:${piece}:${begin}`;

/** Every invariant of a plan; throws (via expect) on the first broken one. */
function checkPlan(s: SchedulerSnapshot, plan: RequestPlan): void {
  const peers = new Map(s.peers.map((p) => [p.id, p]));
  const inFlight = new Set(s.inFlight.map((r) => key(r.peerId, r.piece, r.begin)));
  const planned = new Set<string>();
  const newPerPeer = new Map<string, number>();
  let seenNonUrgent = false;
  for (const r of plan.requests) {
    const p = peers.get(r.peerId);
    expect(p, `unknown peer ${r.peerId}`).toBeDefined();
    expect(s.have.get(r.piece), `requested had piece ${r.piece}`).toBe(false);
    expect(s.wanted.get(r.piece), `requested unwanted piece ${r.piece}`).toBe(true);
    expect(p!.chokingUs, `requested from choking ${r.peerId}`).toBe(false);
    expect(p!.has.get(r.piece), `${r.peerId} lacks ${r.piece}`).toBe(true);
    // geometry: inside the piece, block-aligned, last block shorter
    const size = pieceSize(s, r.piece);
    expect(r.begin % s.blockSize).toBe(0);
    expect(r.begin).toBeLessThan(size);
    expect(r.length).toBe(Math.min(s.blockSize, size - r.begin));
    expect(
      s.partial.get(r.piece)?.received.get(r.begin / s.blockSize) ?? false,
      'requested a received block',
    ).toBe(false);
    const k = key(r.peerId, r.piece, r.begin);
    expect(inFlight.has(k), `re-requested ${k} from the same peer`).toBe(false);
    expect(planned.has(k), `planned ${k} twice`).toBe(false);
    planned.add(k);
    newPerPeer.set(r.peerId, (newPerPeer.get(r.peerId) ?? 0) + 1);
    // urgent blocks come first
    if (!r.urgent) seenNonUrgent = true;
    else expect(seenNonUrgent, 'urgent request after a non-urgent one').toBe(false);
    if (r.urgent) expect(r.deadline).toBeDefined();
    if (r.deadline !== undefined) expect(inWindow(s, r.piece) || r.duplicate).toBe(true);
    // with background off, only window pieces
    if (s.background === false) expect(inWindow(s, r.piece), `background request for ${r.piece}`).toBe(true);
  }
  // cancels: real in-flight requests, and a seek cancels only out-of-window ones
  const cancelled = new Map<string, number>();
  for (const c of plan.cancels) {
    expect(inFlight.has(key(c.peerId, c.piece, c.begin)), 'cancel of a request not in flight').toBe(true);
    cancelled.set(c.peerId, (cancelled.get(c.peerId) ?? 0) + 1);
    const done =
      s.have.get(c.piece) || (s.partial.get(c.piece)?.received.get(c.begin / s.blockSize) ?? false);
    if (c.reason === 'have') expect(done).toBe(true);
    if (c.reason === 'unwanted') expect(s.wanted.get(c.piece)).toBe(false);
    if (c.reason === 'seek') {
      expect(s.background).toBe(false);
      expect(inWindow(s, c.piece), `seek cancelled in-window ${c.piece}`).toBe(false);
    }
    if (c.reason === 'preempt') expect(inWindow(s, c.piece), `preempted in-window ${c.piece}`).toBe(false);
    if (inWindow(s, c.piece) && s.wanted.get(c.piece)) expect(c.reason).toBe('have');
  }
  // pipelines: never above the peer's limit (counting what stays in flight)
  for (const [id, n] of newPerPeer) {
    const p = peers.get(id)!;
    const kept = s.inFlight.filter((r) => r.peerId === id).length - (cancelled.get(id) ?? 0);
    const outstanding = Math.max(kept, p.outstanding - (cancelled.get(id) ?? 0));
    expect(outstanding + n, `peer ${id} over its limit`).toBeLessThanOrEqual(
      Math.max(outstanding, Math.min(p.maxOutstanding, DEFAULT_PLAN_OPTIONS.maxPipeline)),
    );
    if (p.snubbed) expect(outstanding + n).toBeLessThanOrEqual(Math.max(outstanding, 1));
  }
  // the torrent budget
  if (s.maxTotalOutstanding !== undefined) {
    let live = 0;
    for (const p of s.peers) {
      const kept = s.inFlight.filter((r) => r.peerId === p.id).length - (cancelled.get(p.id) ?? 0);
      live += Math.max(kept, p.outstanding - (cancelled.get(p.id) ?? 0));
    }
    expect(plan.requests.length).toBeLessThanOrEqual(Math.max(0, s.maxTotalOutstanding - live));
  }
  // duplicates: a block is never asked of more than maxDuplicates live peers
  const usable = new Set(s.peers.filter((p) => !p.chokingUs).map((p) => p.id));
  const copies = new Map<string, number>();
  const cancelledKeys = new Set(plan.cancels.map((c) => key(c.peerId, c.piece, c.begin)));
  for (const r of s.inFlight)
    if (usable.has(r.peerId) && !cancelledKeys.has(key(r.peerId, r.piece, r.begin)))
      copies.set(`${r.piece}:${r.begin}`, (copies.get(`${r.piece}:${r.begin}`) ?? 0) + 1);
  for (const r of plan.requests) {
    const b = `${r.piece}:${r.begin}`;
    const before = copies.get(b) ?? 0;
    if (!r.duplicate) expect(before, `non-duplicate request for in-flight ${b}`).toBe(0);
    copies.set(b, before + 1);
    if (r.duplicate) expect(before + 1).toBeLessThanOrEqual(DEFAULT_PLAN_OPTIONS.maxDuplicates);
  }
  if (plan.endgame) expect(s.background).not.toBe(false);
  // the background cap counts background requests kept in flight plus new ones
  if (s.maxBackgroundOutstanding !== undefined) {
    const kept = s.inFlight.filter(
      (r) =>
        peers.has(r.peerId) && !inWindow(s, r.piece) && !cancelledKeys.has(key(r.peerId, r.piece, r.begin)),
    ).length;
    const added = plan.requests.filter((r) => !inWindow(s, r.piece)).length;
    expect(added).toBeLessThanOrEqual(Math.max(0, s.maxBackgroundOutstanding - kept));
  }
}

describe('planRequests properties', () => {
  it('every plan keeps every invariant (random snapshots)', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        checkPlan(s, planRequests(s));
      }),
      { numRuns: Number(process.env.SCHEDULER_PROPERTY_RUNS ?? 3000) },
    );
  });

  it('is a pure function of its snapshot', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        expect(planRequests(s)).toEqual(planRequests(s));
      }),
      { numRuns: 500 },
    );
  });

  it('replanning after executing a plan never re-requests what is in flight', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const plan = planRequests(s);
        const gone = new Set(plan.cancels.map((c) => key(c.peerId, c.piece, c.begin)));
        const inFlight = [
          ...s.inFlight.filter((r) => !gone.has(key(r.peerId, r.piece, r.begin))),
          ...plan.requests.map((r) => ({ ...r, requestedAt: s.now })),
        ];
        // The engine's own count moves with the plan too: a cancelled request leaves it, a sent one
        // joins it (a model that drops either lets a peer look freer than it is).
        const delta = new Map<string, number>();
        for (const c of plan.cancels) delta.set(c.peerId, (delta.get(c.peerId) ?? 0) - 1);
        for (const r of plan.requests) delta.set(r.peerId, (delta.get(r.peerId) ?? 0) + 1);
        const peers = s.peers.map((p) => ({
          ...p,
          outstanding: Math.max(0, p.outstanding + (delta.get(p.id) ?? 0)),
        }));
        const next = { ...s, peers, inFlight, now: s.now + 10 };
        const plan2 = planRequests(next);
        checkPlan(next, plan2);
        for (const c of plan2.cancels) expect(c.reason).not.toBe('preempt'); // nothing urgent left unplaced twice
      }),
      { numRuns: 1000 },
    );
  });
});

describe('ReadaheadWindow properties', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('next' as const), length: fc.integer({ min: 0, max: 4 << 20 }) }),
    fc.record({ kind: fc.constant('jump' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('seek' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  );
  const setup = fc.record({
    fileLength: fc.integer({ min: 0, max: 4 << 30 }),
    pieceLength: fc.constantFrom(16 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20),
    bytesPerSecond: fc.integer({ min: 8 << 10, max: 40 << 20 }),
    readaheadSeconds: fc.integer({ min: 1, max: 3600 }),
  });

  it('the window stays within its bounds, and a paused reader never moves or grows it', () => {
    fc.assert(
      fc.property(
        setup,
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 600_000 })),
        (o, ops, waits) => {
          const w = new ReadaheadWindow({ fileOffset: 1000, ...o });
          let now = 0;
          for (const x of ops) {
            if (x.kind === 'next') w.read(w.position, x.length, now);
            else if (x.kind === 'jump') w.read(Math.floor(x.at * o.fileLength), 4096, now);
            else if (x.kind === 'seek') w.seek(Math.floor(x.at * o.fileLength));
            else now += x.ms;
            const { start, end } = w.range();
            expect(start).toBe(w.position);
            expect(start).toBeGreaterThanOrEqual(0);
            expect(end).toBeLessThanOrEqual(o.fileLength);
            expect(end - start).toBeLessThanOrEqual(w.fullSize);
            expect(w.size).toBeGreaterThanOrEqual(Math.min(w.startSize, w.fullSize));
            expect(w.size).toBeLessThanOrEqual(Math.ceil(w.fullSize));
          }
          // paused: time passes, nothing is read
          const before = w.reader('r');
          const size = w.size;
          for (const ms of waits) {
            now += ms;
            w.idleMs(now);
            expect(w.reader('r')).toEqual(before);
            expect(w.size).toBe(size);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('contiguous reads never shrink the window', () => {
    fc.assert(
      fc.property(setup, fc.array(fc.integer({ min: 0, max: 2 << 20 }), { maxLength: 60 }), (o, lengths) => {
        const w = new ReadaheadWindow({ fileOffset: 0, ...o });
        let last = w.size;
        for (const n of lengths) {
          w.read(w.position, n, 0);
          expect(w.size).toBeGreaterThanOrEqual(last);
          last = w.size;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('availability counting', () => {
  it('the bit-sliced count equals the bit-by-bit count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 300 }),
        (pieceCount, fields) => {
          expect(countAvailability(fields, pieceCount)).toEqual(countAvailabilitySimple(fields, pieceCount));
        },
      ),
      { numRuns: 500 },
    );
  });
});
