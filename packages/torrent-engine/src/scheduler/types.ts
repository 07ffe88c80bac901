// The scheduler's inputs and outputs. The scheduler is pure: the engine (E2) builds a snapshot of
// one torrent's state, calls planRequests(), and executes the plan (sends REQUEST and CANCEL).
// Times are milliseconds on the engine's clock (Date.now() or a monotonic clock; the scheduler
// only compares and subtracts them). Rates are bytes per second. Offsets are bytes in the
// torrent's linear byte space (pad files included), as in TorrentFile.offset.

/**
 * The read-only part of a Bitfield the scheduler needs (src/bitfield.ts satisfies it). Kept
 * structural so the scheduler compiles and tests without the storage layer.
 */
export interface PieceBits {
  readonly length: number;
  get(index: number): boolean;
  /** Optional fast path (Bitfield has it): the wire-order bytes, used to count availability. */
  toBytes?(): Uint8Array;
}

/** A block request already sent and not yet answered, rejected or cancelled. */
export interface InFlightRequest {
  peerId: string;
  piece: number;
  begin: number; // byte offset inside the piece, a multiple of blockSize
  length: number;
  requestedAt: number; // ms
}

export interface PeerState {
  id: string;
  has: PieceBits;
  /** True while the peer chokes us (and we have no allowed-fast grant to use). */
  chokingUs: boolean;
  /** Measured payload download rate from this peer, B/s (0 when unknown yet). */
  downloadRate: number;
  /**
   * Nothing received from it yet on this connection (not a block): its first round trip. An idle
   * peer whose rate decayed to 0 is not fresh.
   */
  fresh?: boolean;
  /** Round trip measured on this connection (our handshake to theirs, outgoing only), ms. */
  rttMs?: number;
  /**
   * Requests outstanding to this peer. The planner counts `inFlight` entries itself; this field is
   * used only when it is larger (requests the engine sent outside the plan).
   */
  outstanding: number;
  /** Hard cap on outstanding requests: the peer's `reqq` (BEP 10) or the engine's own limit. */
  maxOutstanding: number;
  /** No block from this peer for a long time although requests are outstanding. */
  snubbed: boolean;
  /** Round-trip estimate in ms; default PlanOptions.defaultLatencyMs. */
  latencyMs?: number;
  /**
   * Relative cost of fetching from this peer (issue 7): 1 for an ordinary viewer, higher for the
   * origin (e.g. 10). A block is asked of a costly peer only when no cheaper peer can deliver it in
   * time (urgent blocks) or has it at all (background blocks). Default 1.
   */
  cost?: number;
}

/**
 * A reader's window: bytes [start, end) of the torrent are wanted soon. The byte at position p is
 * needed at now + (p - playhead) / bytesPerSecond seconds; bytes before the playhead are needed
 * now. ReadaheadWindow (readahead.ts) computes start/end; primeReaders() builds windows for the
 * head and tail of a file just opened.
 */
export interface ReaderState {
  id: string;
  start: number;
  end: number; // exclusive
  playhead: number; // usually == start (the read position)
  bytesPerSecond: number; // media rate; > 0
}

export interface PlanOptions {
  /** How long a request's round trip may take before counting as stalled, in ms. */
  defaultLatencyMs: number;
  /** Pipelining: enough requests to cover this much time of the peer's rate. */
  pipelineSeconds: number;
  /** Pipelining floor and cap in blocks (see docs/design/scheduler.md). */
  minPipeline: number;
  maxPipeline: number;
  /** Rate assumed for a peer with no measurement (an idle one whose meter reached 0), B/s. */
  unknownPeerRate: number;
  /** A fresh peer's first round trip is given requests for this rate times its rttMs, B/s. */
  freshLinkRate: number;
  /** A block is stalled when in flight longer than stallFactor x its expected time + latency. */
  stallFactor: number;
  /** Blocks whose deadline is within this horizon count as urgent (ms). */
  urgentHorizonMs: number;
  /** Extra time before an in-flight urgent block counts as stalled (ms). */
  stallMarginMs: number;
  /** Maximum number of peers one block may be in flight to at once (stall or endgame duplicates). */
  maxDuplicates: number;
  /**
   * A reader window longer than this (bytes from its start) is cut: a window is readahead, not
   * "the rest of the file" (WebTorrent's issue #803). ReadaheadWindow never exceeds its cap.
   */
  maxWindowBytes: number;
}

export interface SchedulerSnapshot {
  now: number; // ms
  pieceCount: number;
  pieceLength: number;
  /** Block size used for requests; 16384 everywhere in practice. */
  blockSize: number;
  totalLength: number;
  have: PieceBits; // verified pieces
  /** Pieces overlapping selected (non-pad) files. Unwanted pieces are never requested. */
  wanted: PieceBits;
  /** Pieces with some blocks received but not yet verified: which blocks we hold. */
  partial: Map<number, { received: PieceBits }>;
  inFlight: InFlightRequest[];
  peers: PeerState[];
  readers: ReaderState[];
  /**
   * Pieces whose blocks a reader can read one by one as they are checked (BEP 52 leaf hashes),
   * before the whole piece is: their blocks are due in reading order rather than all at once.
   */
  blockwise?: PieceBits;
  /** Seed for deterministic tie-breaking (rarest-first ties). Never Math.random. Default 0. */
  seed?: number;
  /**
   * Background (non-reader) downloading allowed? False for a torrent that only streams what is
   * read (e.g. a paused torrent whose reader still reads). Default true.
   */
  background?: boolean;
  /**
   * Availability per piece (how many connected peers have it), when the engine keeps it up to date
   * incrementally (HAVE/BITFIELD). Optional: computed from peers[].has otherwise.
   */
  availability?: ArrayLike<number>;
  /**
   * Cap on requests in flight for this torrent in total (its share of a global budget, see
   * divideBudget()). Default: no cap beyond the peers' own pipelines.
   */
  maxTotalOutstanding?: number;
  /**
   * Cap on background requests (outside every window) in flight, when background is on: lets a
   * streaming viewer trade rarest-first pieces with the swarm (issue 7) at a bounded cost instead
   * of downloading the rest of the file at full speed. Default: no cap.
   */
  maxBackgroundOutstanding?: number;
  /**
   * Background phase: pieces open at once (received in part, or requested) before it starts
   * another; the engine holds each open piece in memory until it is verified, so this bounds that
   * memory for large pieces. Only pieces some unchoking peer has count: a piece whose sources left
   * cannot keep the others from starting. Reader windows are never held back. Default: no cap.
   */
  maxOpenPieces?: number;
  options?: Partial<PlanOptions>;
}

export interface PlannedRequest {
  peerId: string;
  piece: number;
  begin: number;
  length: number;
  /** When the block is needed (ms), for blocks inside a reader window. */
  deadline?: number;
  /** The block's deadline falls within the urgent horizon. */
  urgent: boolean;
  /** This block is already in flight to another peer (stall recovery or endgame). */
  duplicate: boolean;
}

export interface PlannedCancel {
  peerId: string;
  piece: number;
  begin: number;
  length: number;
  /**
   * 'have': the piece is verified or the block already received (a duplicate still out);
   * 'unwanted': the piece is no longer wanted (file deselected);
   * 'seek': outside every reader window while background downloading is off;
   * 'preempt': a background request given up to make room for an urgent block on a full peer.
   */
  reason: 'seek' | 'unwanted' | 'have' | 'preempt';
}

export interface RequestPlan {
  /** New requests to send, in the order to send them (most urgent first). */
  requests: PlannedRequest[];
  /** In-flight requests to cancel (send CANCEL, forget them). */
  cancels: PlannedCancel[];
  /** True when every needed block is already in flight (endgame mode). */
  endgame: boolean;
}
