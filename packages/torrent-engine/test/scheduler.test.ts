// Table-driven cases for planRequests: each a small snapshot and the properties its plan must have.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN_OPTIONS as D,
  type InFlightRequest,
  type PeerState,
  pipelineDepth,
  planRequests,
  type ReaderState,
  type RequestPlan,
  type SchedulerSnapshot,
} from '../src/scheduler/index.js';
import { BLOCK, bits, KIB, MIB, peer, piecesRequested, reqs, snap } from './scheduler-fixtures.js';

const PIECE = 64 * KIB; // 4 blocks
const NOW = 1_000_000;

function flight(peerId: string, piece: number, block: number, age = 0): InFlightRequest {
  return { peerId, piece, begin: block * BLOCK, length: BLOCK, requestedAt: NOW - age };
}

/** A reader at 1 MiB/s from block `block` of piece `piece` (its playhead there) to the end of piece 2. */
function readerAtBlock(piece: number, block: number): ReaderState {
  const at = piece * PIECE + block * BLOCK;
  return { id: 'r', start: at, end: 3 * PIECE, playhead: at, bytesPerSecond: MIB };
}

interface Case {
  name: string;
  snapshot: SchedulerSnapshot;
  check: (plan: RequestPlan) => void;
}

const cases: Case[] = [
  {
    name: 'blocks checked one by one (BEP 52): the reader mid-piece gets its own blocks first',
    snapshot: snap({
      pieceCount: 3,
      peers: [peer('a', { pieces: 3, maxOutstanding: 2 })],
      readers: [readerAtBlock(1, 2)],
      blockwise: bits(3, 'all'),
    }),
    check: (plan) => {
      expect(reqs(plan)).toEqual(['a:1/2', 'a:1/3']);
    },
  },
  {
    name: 'a piece served only whole: its blocks are due together, in order (control of the case above)',
    snapshot: snap({
      pieceCount: 3,
      peers: [peer('a', { pieces: 3, maxOutstanding: 2 })],
      readers: [readerAtBlock(1, 2)],
    }),
    check: (plan) => {
      expect(reqs(plan)).toEqual(['a:1/0', 'a:1/1']);
    },
  },
  {
    name: 'blockwise: the blocks before the reader come when the piece end is due, after the next piece starts',
    snapshot: snap({
      pieceCount: 3,
      peers: [peer('a', { pieces: 3, maxOutstanding: 5 })],
      readers: [readerAtBlock(1, 3)],
      blockwise: bits(3, 'all'),
    }),
    check: (plan) => {
      // Block 3 (the reader's), then blocks 0-2 (due with the piece's last byte, block 3's end),
      // before piece 2, whose first byte comes one block later.
      expect(reqs(plan)).toEqual(['a:1/3', 'a:1/0', 'a:1/1', 'a:1/2', 'a:2/0']);
    },
  },
  {
    name: 'requests every block of the one wanted piece, last block shorter',
    snapshot: snap({
      pieceCount: 2,
      pieceLength: 32 * KIB,
      totalLength: 40_000,
      peers: [peer('a', { pieces: 2 })],
    }),
    check: (plan) => {
      expect(plan.requests.map((r) => [r.piece, r.begin, r.length])).toEqual([
        [0, 0, BLOCK],
        [0, BLOCK, BLOCK],
        [1, 0, 40_000 - 32 * KIB],
      ]);
      expect(plan.requests.every((r) => !r.urgent && !r.duplicate && r.deadline === undefined)).toBe(true);
    },
  },
  {
    name: 'rarest first: the piece only one peer has goes first',
    snapshot: snap({
      pieceCount: 4,
      peers: [
        peer('a', { pieces: 4, maxOutstanding: 4 }),
        peer('b', { pieces: 4, has: bits(4, [0, 1, 2]) }),
        peer('c', { pieces: 4, has: bits(4, [0, 1]) }),
      ],
    }),
    check: (plan) => {
      expect(piecesRequested(plan)[0]).toBe(3);
      expect(plan.requests.filter((r) => r.piece === 3).every((r) => r.peerId === 'a')).toBe(true);
      // then piece 2 (two holders) before pieces 0 and 1 (three holders)
      expect(piecesRequested(plan).indexOf(2)).toBeLessThan(piecesRequested(plan).indexOf(0));
    },
  },
  {
    name: 'a partly received piece is completed before a rarer fresh one',
    snapshot: snap({
      pieceCount: 3,
      partial: new Map([[0, { received: bits(4, [0, 1]) }]]),
      peers: [
        peer('a', { pieces: 3, maxOutstanding: 2 }),
        peer('b', { pieces: 3, has: bits(3, [0, 1]), maxOutstanding: 0 }),
      ],
    }),
    check: (plan) => {
      expect(reqs(plan)).toEqual(['a:0/2', 'a:0/3']);
    },
  },
  {
    name: 'never asks for pieces we have or do not want',
    snapshot: snap({ have: bits(8, [0, 1]), wanted: bits(8, [0, 1, 2, 5]), peers: [peer('a')] }),
    check: (plan) => {
      expect(new Set(plan.requests.map((r) => r.piece))).toEqual(new Set([2, 5]));
    },
  },
  {
    name: 'skips received blocks and blocks already in flight',
    snapshot: snap({
      pieceCount: 1,
      partial: new Map([[0, { received: bits(4, [1]) }]]),
      inFlight: [flight('a', 0, 2)],
      peers: [peer('a', { pieces: 1 })],
    }),
    check: (plan) => expect(reqs(plan)).toEqual(['a:0/0', 'a:0/3']),
  },
  {
    name: 'a peer that chokes us or lacks the piece gets nothing',
    snapshot: snap({
      pieceCount: 2,
      peers: [
        peer('choker', { pieces: 2, chokingUs: true }),
        peer('lacks', { pieces: 2, has: bits(2, [1]) }),
      ],
    }),
    check: (plan) => {
      expect(plan.requests.every((r) => r.peerId === 'lacks' && r.piece === 1)).toBe(true);
      expect(plan.requests).toHaveLength(4);
    },
  },
  {
    name: 'pipelining follows the rate and the peer limit',
    snapshot: snap({
      pieceCount: 200,
      peers: [
        peer('fast', { pieces: 200, downloadRate: 2 * MIB }), // 2 MiB/s x 1 s = 128 blocks
        peer('slow', { pieces: 200, downloadRate: 10 * KIB }), // floor: 2
        peer('capped', { pieces: 200, downloadRate: 2 * MIB, maxOutstanding: 5 }),
        peer('busy', { pieces: 200, downloadRate: 2 * MIB, outstanding: 120 }), // engine's own count
      ],
    }),
    check: (plan) => {
      const count = (id: string) => plan.requests.filter((r) => r.peerId === id).length;
      expect(count('fast')).toBe(128);
      expect(count('slow')).toBe(2);
      expect(count('capped')).toBe(5);
      expect(count('busy')).toBe(8);
    },
  },
  {
    name: 'a snubbed peer gets one background request and no urgent ones',
    snapshot: snap({
      pieceCount: 4,
      peers: [peer('snub', { pieces: 4, snubbed: true })],
      readers: [{ id: 'r', start: 0, end: PIECE, playhead: 0, bytesPerSecond: MIB }],
    }),
    check: (plan) => {
      expect(plan.requests).toHaveLength(1);
      expect(plan.requests[0]!.urgent).toBe(false);
      expect(plan.requests[0]!.piece).not.toBe(0);
    },
  },
  {
    name: 'window blocks first, earliest deadline first, with deadlines from the playhead',
    snapshot: snap({
      peers: [peer('a')],
      readers: [
        { id: 'r', start: 5 * PIECE + 100, end: 7 * PIECE, playhead: 5 * PIECE + 100, bytesPerSecond: MIB },
      ],
    }),
    check: (plan) => {
      const window = plan.requests.slice(0, 8);
      expect(window.map((r) => r.piece)).toEqual([5, 5, 5, 5, 6, 6, 6, 6]);
      expect(window.every((r) => r.urgent && r.deadline !== undefined)).toBe(true);
      expect(window[0]!.deadline).toBe(NOW); // behind the playhead: needed now
      expect(window[4]!.deadline).toBeCloseTo(NOW + ((6 * PIECE - (5 * PIECE + 100)) / MIB) * 1000, 6);
      expect(plan.requests.slice(8).every((r) => !r.urgent && r.deadline === undefined)).toBe(true);
    },
  },
  {
    name: 'an urgent block goes to the peer with the shortest expected queue',
    snapshot: snap({
      pieceCount: 10,
      // 30 blocks queued at 'loaded' (~530 ms to drain) vs an empty queue at half the rate
      inFlight: Array.from({ length: 30 }, (_, i) => flight('loaded', 2 + Math.floor(i / 4), i % 4)),
      peers: [
        peer('loaded', { pieces: 10, downloadRate: 1 * MIB }),
        peer('idle', { pieces: 10, downloadRate: 512 * KIB }),
      ],
      readers: [{ id: 'r', start: 0, end: PIECE, playhead: 0, bytesPerSecond: MIB }],
    }),
    check: (plan) => {
      const window = plan.requests.filter((r) => r.piece === 0 && !r.duplicate);
      expect(window).toHaveLength(4);
      expect(window.every((r) => r.peerId === 'idle')).toBe(true);
    },
  },
  {
    name: 'a peer too slow for an urgent deadline is skipped, but used for far blocks',
    snapshot: snap({
      pieceCount: 64,
      peers: [
        peer('fast', { pieces: 64, downloadRate: 256 * KIB, maxOutstanding: 4 }),
        peer('slow', { pieces: 64, downloadRate: 4 * KIB, maxOutstanding: 100 }),
      ],
      readers: [{ id: 'r', start: 0, end: 64 * PIECE, playhead: 0, bytesPerSecond: 256 * KIB }],
      background: false,
    }),
    check: (plan) => {
      const slow = plan.requests.filter((r) => r.peerId === 'slow');
      expect(plan.requests.filter((r) => r.peerId === 'fast')).toHaveLength(4);
      expect(slow.length).toBeGreaterThan(0);
      // 4 KiB/s: a block takes 4 s. Every block given to it is one it delivers in time, so the
      // first seconds of the window (deadlines it would miss) are left for the fast peer's next slots.
      slow.forEach((r, k) => {
        expect(r.deadline! - NOW).toBeGreaterThanOrEqual(50 + (k + 1) * 4000);
      });
      expect(slow.some((r) => !r.urgent)).toBe(true);
    },
  },
  {
    name: 'a stalled urgent block is requested again from another peer',
    snapshot: snap({
      pieceCount: 2,
      partial: new Map([[0, { received: bits(4, [0, 2, 3]) }]]),
      inFlight: [flight('stuck', 0, 1, 5000)],
      peers: [peer('stuck', { pieces: 2 }), peer('other', { pieces: 2 })],
      readers: [{ id: 'r', start: 0, end: 2 * PIECE, playhead: 0, bytesPerSecond: MIB }],
    }),
    check: (plan) => {
      const dup = plan.requests.find((r) => r.piece === 0 && r.begin === BLOCK);
      expect(dup).toMatchObject({ peerId: 'other', duplicate: true, urgent: true });
      expect(plan.requests.filter((r) => r.piece === 0 && r.begin === BLOCK)).toHaveLength(1);
    },
  },
  {
    name: 'a fresh in-flight urgent block is not duplicated',
    snapshot: snap({
      pieceCount: 8,
      inFlight: [flight('a', 0, 1, 10)],
      peers: [peer('a', { maxOutstanding: 4 }), peer('b', { maxOutstanding: 4 })],
      readers: [{ id: 'r', start: 0, end: 2 * PIECE, playhead: 0, bytesPerSecond: MIB }],
    }),
    check: (plan) => {
      expect(plan.requests.some((r) => r.piece === 0 && r.begin === BLOCK)).toBe(false);
      expect(plan.requests.some((r) => r.duplicate)).toBe(false);
    },
  },
  {
    name: 'after a seek, stream-only: requests outside every window are cancelled, the rest kept',
    snapshot: snap({
      inFlight: [flight('a', 0, 0), flight('a', 1, 2), flight('b', 6, 1), flight('b', 7, 3)],
      peers: [peer('a'), peer('b')],
      readers: [{ id: 'r', start: 6 * PIECE, end: 8 * PIECE, playhead: 6 * PIECE, bytesPerSecond: MIB }],
      background: false,
    }),
    check: (plan) => {
      expect(plan.cancels.map((c) => [c.peerId, c.piece, c.reason])).toEqual([
        ['a', 0, 'seek'],
        ['a', 1, 'seek'],
      ]);
      expect(plan.requests.every((r) => r.piece >= 6)).toBe(true);
    },
  },
  {
    name: 'requests for had, received or deselected blocks are cancelled',
    snapshot: snap({
      have: bits(8, [0]),
      wanted: bits(8, [0, 1, 2]),
      partial: new Map([[1, { received: bits(4, [3]) }]]),
      inFlight: [flight('a', 0, 0), flight('a', 1, 3), flight('a', 4, 0), flight('a', 2, 0)],
      peers: [peer('a')],
    }),
    check: (plan) => {
      expect(plan.cancels.map((c) => [c.piece, c.reason])).toEqual([
        [0, 'have'],
        [1, 'have'],
        [4, 'unwanted'],
      ]);
    },
  },
  {
    name: 'a full fast peer gives up its newest background request for an urgent block',
    snapshot: snap({
      inFlight: [flight('a', 1, 0, 40), flight('a', 1, 1, 30), flight('a', 1, 2, 20)],
      peers: [peer('a', { maxOutstanding: 3 })],
      readers: [{ id: 'r', start: 5 * PIECE, end: 6 * PIECE, playhead: 5 * PIECE, bytesPerSecond: MIB }],
    }),
    check: (plan) => {
      // the newest background request is the one the peer would serve last
      expect(plan.cancels.map((c) => [c.piece, c.begin / BLOCK, c.reason])).toEqual([
        [1, 2, 'preempt'],
        [1, 1, 'preempt'],
        [1, 0, 'preempt'],
      ]);
      expect(reqs(plan)).toEqual(['a:5/0', 'a:5/1', 'a:5/2']);
    },
  },
  {
    name: 'endgame: when everything left is in flight, idle peers duplicate it',
    snapshot: snap({
      pieceCount: 1,
      inFlight: [
        flight('a', 0, 0, 100),
        flight('a', 0, 1, 100),
        flight('a', 0, 2, 100),
        flight('a', 0, 3, 100),
      ],
      peers: [peer('a', { pieces: 1 }), peer('b', { pieces: 1 })],
    }),
    check: (plan) => {
      expect(plan.endgame).toBe(true);
      expect(reqs(plan)).toEqual(['b:0/0', 'b:0/1', 'b:0/2', 'b:0/3']);
      expect(plan.requests.every((r) => r.duplicate)).toBe(true);
    },
  },
  {
    name: 'not endgame while a block is still unrequested',
    snapshot: snap({
      pieceCount: 1,
      inFlight: [flight('a', 0, 0), flight('a', 0, 1), flight('a', 0, 2)],
      peers: [peer('a', { pieces: 1, maxOutstanding: 3 })],
    }),
    check: (plan) => {
      expect(plan.endgame).toBe(false);
      expect(plan.requests).toEqual([]);
    },
  },
  {
    name: 'issue 7: background pieces come from a viewer, never the origin, when a viewer has them',
    snapshot: snap({
      pieceCount: 4,
      peers: [
        peer('origin', { pieces: 4, cost: 10, downloadRate: 8 * MIB }),
        peer('viewer', { pieces: 4, has: bits(4, [0, 1]), downloadRate: 64 * KIB, maxOutstanding: 2 }),
      ],
    }),
    check: (plan) => {
      for (const r of plan.requests) expect(r.peerId).toBe(r.piece < 2 ? 'viewer' : 'origin');
      expect(plan.requests.filter((r) => r.peerId === 'viewer')).toHaveLength(2);
    },
  },
  {
    name: 'issue 7: a window block goes to a viewer in time, to the origin only when none is',
    snapshot: snap({
      pieceCount: 4,
      peers: [
        peer('origin', { pieces: 4, cost: 10, downloadRate: 8 * MIB }),
        peer('viewer', { pieces: 4, has: bits(4, [2]), downloadRate: 1 * MIB }),
      ],
      // the player is at 0 and reads 256 KiB/s: piece 2 is needed in 500 ms, which the viewer meets
      readers: [{ id: 'r', start: 2 * PIECE, end: 4 * PIECE, playhead: 0, bytesPerSecond: 256 * KIB }],
      background: false,
    }),
    check: (plan) => {
      expect(plan.requests).toHaveLength(8);
      for (const r of plan.requests) expect(r.peerId).toBe(r.piece === 2 ? 'viewer' : 'origin');
    },
  },
  {
    name: 'issue 7: a block nobody can deliver in time goes to the fastest, even the origin',
    snapshot: snap({
      pieceCount: 4,
      peers: [
        peer('origin', { pieces: 4, cost: 10, downloadRate: 8 * MIB }),
        peer('viewer', { pieces: 4, downloadRate: 1 * MIB }),
      ],
      readers: [{ id: 'r', start: 0, end: PIECE, playhead: 0, bytesPerSecond: 256 * KIB }],
      background: false,
    }),
    check: (plan) => expect(plan.requests[0]?.peerId).toBe('origin'),
  },
  {
    name: 'two readers due at once: one piece whole, then the other (a piece serves nothing until whole)',
    snapshot: snap({
      pieceCount: 8,
      peers: [peer('a', { maxOutstanding: 6 })],
      readers: [
        { id: 'r1', start: 0, end: 2 * PIECE, playhead: 0, bytesPerSecond: MIB },
        { id: 'r2', start: 4 * PIECE, end: 6 * PIECE, playhead: 4 * PIECE, bytesPerSecond: MIB },
      ],
    }),
    check: (plan) => {
      expect(plan.requests.map((r) => r.piece)).toEqual([0, 0, 0, 0, 4, 4]);
    },
  },
  {
    name: 'the torrent budget caps the plan',
    snapshot: snap({ peers: [peer('a'), peer('b')], inFlight: [flight('a', 0, 0)], maxTotalOutstanding: 5 }),
    check: (plan) => expect(plan.requests).toHaveLength(4),
  },
  {
    name: 'the background cap bounds rarest-first work but not the windows',
    snapshot: snap({
      pieceCount: 8,
      inFlight: [flight('a', 7, 0)],
      peers: [peer('a')],
      readers: [{ id: 'r', start: 0, end: PIECE, playhead: 0, bytesPerSecond: MIB }],
      maxBackgroundOutstanding: 3,
    }),
    check: (plan) => {
      expect(plan.requests.filter((r) => r.piece === 0)).toHaveLength(4);
      expect(plan.requests.filter((r) => r.piece !== 0)).toHaveLength(2);
    },
  },
  {
    name: 'maxOpenPieces: with two pieces open, the background finishes them and starts no third',
    snapshot: snap({
      partial: new Map([[5, { received: bits(4, [0]) }]]),
      inFlight: [flight('a', 2, 0)],
      peers: [peer('a'), peer('b')],
      maxOpenPieces: 2,
    }),
    check: (plan) => {
      // Piece 2's three unrequested blocks, piece 5's three missing ones; nothing else.
      expect(piecesRequested(plan).sort()).toEqual([2, 5]);
      expect(plan.requests).toHaveLength(6);
    },
  },
  {
    name: 'maxOpenPieces: an open piece no unchoking peer has does not count, so a new piece starts',
    snapshot: snap({
      partial: new Map([[5, { received: bits(4, [0]) }]]),
      inFlight: [flight('a', 2, 0)],
      // Piece 5's sources are gone: neither peer has it.
      peers: [
        peer('a', { has: bits(8, [0, 1, 2, 3, 4, 6, 7]) }),
        peer('b', { has: bits(8, [0, 1, 2, 3, 4, 6, 7]) }),
      ],
      maxOpenPieces: 2,
    }),
    check: (plan) => {
      const pieces = piecesRequested(plan);
      expect(pieces).toContain(2);
      expect(pieces).not.toContain(5);
      expect(pieces).toHaveLength(2); // piece 2 and exactly one new piece
    },
  },
  {
    name: "maxOpenPieces: a reader's window is fetched whatever the cap",
    snapshot: snap({
      partial: new Map([[5, { received: bits(4, [0]) }]]),
      inFlight: [flight('a', 2, 0)],
      peers: [peer('a')],
      readers: [{ id: 'r', start: 0, end: 2 * PIECE, playhead: 0, bytesPerSecond: MIB }],
      maxOpenPieces: 2,
    }),
    check: (plan) => {
      expect(plan.requests.filter((r) => r.piece === 0)).toHaveLength(4);
      expect(plan.requests.filter((r) => r.piece === 1)).toHaveLength(4);
      // Outside the window, only the pieces already open.
      expect(
        piecesRequested(plan)
          .filter((p) => p > 1)
          .sort(),
      ).toEqual([2, 5]);
    },
  },
  {
    name: 'with the torrent budget spent on background work, an urgent block preempts one',
    snapshot: snap({
      inFlight: [flight('a', 2, 0, 30), flight('a', 2, 1, 20)],
      peers: [peer('a')],
      readers: [{ id: 'r', start: 0, end: PIECE, playhead: 0, bytesPerSecond: MIB }],
      maxTotalOutstanding: 2,
    }),
    check: (plan) => {
      expect(plan.cancels.map((c) => [c.piece, c.begin / BLOCK, c.reason])).toEqual([
        [2, 1, 'preempt'],
        [2, 0, 'preempt'],
      ]);
      expect(reqs(plan)).toEqual(['a:0/0', 'a:0/1']);
    },
  },
  {
    name: 'a window spanning the whole file is cut to maxWindowBytes (readahead, not the rest of the file)',
    snapshot: snap({
      pieceCount: 64,
      peers: [peer('a', { pieces: 64 })],
      readers: [{ id: 'r', start: 0, end: 64 * PIECE, playhead: 0, bytesPerSecond: MIB }],
      background: false,
      options: { maxWindowBytes: 4 * PIECE },
    }),
    check: (plan) => {
      expect(new Set(plan.requests.map((r) => r.piece))).toEqual(new Set([0, 1, 2, 3]));
    },
  },
  {
    name: 'background off and no reader: nothing to do',
    snapshot: snap({ peers: [peer('a')], background: false }),
    check: (plan) => expect(plan).toEqual({ requests: [], cancels: [], endgame: false }),
  },
  {
    name: 'the same seed gives the same plan; ties differ between seeds',
    snapshot: snap({ pieceCount: 64, peers: [peer('a', { pieces: 64, maxOutstanding: 4 })], seed: 1 }),
    check: (plan) => {
      const again = planRequests(
        snap({ pieceCount: 64, peers: [peer('a', { pieces: 64, maxOutstanding: 4 })], seed: 1 }),
      );
      expect(again).toEqual(plan);
      const firsts = new Set<number>();
      for (let seed = 0; seed < 20; seed++)
        firsts.add(
          planRequests(snap({ pieceCount: 64, peers: [peer('a', { pieces: 64, maxOutstanding: 1 })], seed }))
            .requests[0]!.piece,
        );
      expect(firsts.size).toBeGreaterThan(5);
    },
  },
];

describe('planRequests', () => {
  it.each(cases)('$name', ({ snapshot, check }) => check(planRequests(snapshot)));

  it('rejects inconsistent geometry with a precise message', () => {
    expect(() => planRequests(snap({ totalLength: 10 * PIECE }))).toThrow(/makes 10 pieces, not 8/);
    expect(() =>
      planRequests(snap({ readers: [{ id: 'r', start: 0, end: 1, playhead: 0, bytesPerSecond: 0 }] })),
    ).toThrow(/reader r has bytesPerSecond 0/);
  });
});

describe('pipelineDepth', () => {
  it.each([
    [0, 250, false, D.minPipeline],
    [16 * KIB, 250, false, D.minPipeline],
    [1 * MIB, 250, false, 64],
    [100 * MIB, 250, false, D.maxPipeline],
    [100 * MIB, 40, false, 40],
    [1 * MIB, 250, true, 1],
    [1 * MIB, 0, false, 0],
  ])('rate %d, limit %d, snubbed %s -> %d', (rate, max, snubbed, expected) => {
    expect(pipelineDepth(rate, max, snubbed, D)).toBe(expected);
  });
});

describe('a peer without a measured rate', () => {
  // One 1 MiB piece (64 blocks), wanted by a reader: how much of it goes out at once.
  const plan = (o: Partial<PeerState>) =>
    planRequests(
      snap({
        pieceCount: 4,
        pieceLength: MIB,
        peers: [peer('p', { pieces: 4, downloadRate: 0, ...o })],
        readers: [{ id: 'r', start: 0, end: MIB, playhead: 0, bytesPerSecond: 1 * MIB }],
      }),
    ).requests.length;
  const unknown = D.unknownPeerRate / BLOCK;

  it.each([
    // A new connection 100 or 200 ms away: its first round trip keeps a fast link busy (at 8
    // requests its first piece took a round trip more than it needed); more than a piece at 200 ms.
    ['fresh, 100 ms away', { fresh: true, rttMs: 100 }, Math.ceil((D.freshLinkRate * 0.1) / BLOCK)],
    ['fresh, 200 ms away', { fresh: true, rttMs: 200 }, Math.ceil((D.freshLinkRate * 0.2) / BLOCK)],
    // On loopback a deep first pipeline buys nothing, and a crowd joining a capped origin at once
    // would queue megabytes there: as before.
    ['fresh, on loopback', { fresh: true, rttMs: 0.5 }, unknown],
    // Incoming connections have no measured round trip.
    ['fresh, round trip unknown', { fresh: true }, unknown],
    // An idle connection whose meter went back to 0 is not new: a few blocks, as before.
    ['idle, 200 ms away', { fresh: false, rttMs: 200 }, unknown],
    ['fresh but snubbed', { fresh: true, rttMs: 200, snubbed: true }, 1],
  ] as [string, Partial<PeerState>, number][])('%s', (_what, o, expected) => {
    expect(plan(o)).toBe(expected);
  });
});
