/**
 * One torrent in the engine: its metadata (fetched over ut_metadata for a magnet), its PieceStore,
 * its peers, and the loops that keep it moving: planning requests (the scheduler's pure plan,
 * executed here), assembling and verifying pieces, serving verified blocks, choking, dialling.
 * See docs/design/engine.md.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from '@dream/config';
import utMetadata from 'ut_metadata';
import utPex from 'ut_pex';
import { Bitfield, type PeerAddress } from '../bitfield.js';
import { CHOKE_INTERVAL_MS, chooseUnchoked, OPTIMISTIC_INTERVAL_MS, UNCHOKE_SLOTS } from '../choke/index.js';
import { parseInfo, type TorrentMeta } from '../metainfo/index.js';
import { GlobalLimits, type RateLimits, TorrentLimits } from '../ratelimit/index.js';
import type { ResumeData } from '../resume/index.js';
import { outstandingFor, planRequests, type TorrentDemand } from '../scheduler/index.js';
import type { InFlightRequest, PeerState, ReaderState } from '../scheduler/types.js';
import type { PeerSource } from '../sources/index.js';
import { PeerSourceSet } from '../sources/index.js';
import { PieceStore, StorageError } from '../storage/index.js';
import { dialPeer, type Handshaken, OtherTorrent } from '../swarm/connect.js';
import { Peer } from '../swarm/peer.js';
import { addressKey, PeerBook } from '../swarm/peer-book.js';
import { SwarmPolicy } from '../swarm-policy/index.js';
import type { GuardedWire, HashAnswer, HashQuestion } from '../wire/guarded-wire.js';
import {
  BLOCK_SIZE,
  IDLE_TIMEOUT_MS,
  MAX_METADATA_SIZE,
  MAX_PEER_REQUESTS,
  MAX_PEX_PEERS_PER_CONNECTION,
  REQUEST_TIMEOUT_MS,
} from '../wire/limits.js';
import type { EncryptionPolicy } from '../wire/mse/handshake.js';
import { type BlockPrint, BufferPool, convict, PieceAssembly } from './assembly.js';
import { BlockChecking } from './block-checking.js';
import { PieceCache } from './piece-cache.js';

export type TorrentState = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'error';

/** Hash failures a peer may contribute to before it is banned, and failures as the sole sender. */
export const MAX_STRIKES = 3;
export const MAX_SOLE_STRIKES = 2;
/** Connections per torrent (the engine also enforces torrent.max_connections overall). */
export const MAX_PEERS_PER_TORRENT = 50;
/** Most requests outstanding at one peer, whatever its reqq (the scheduler sizes the pipeline to its rate). */
export const MAX_PIPELINE = 500;
/**
 * Pieces assembled or being verified/written at once. When the disk is slower than the network,
 * no new piece is started past this (memory stays bounded: 24 x 1 MiB pieces typically).
 */
export const MAX_PIECES_IN_MEMORY = 8;
/**
 * Memory for pieces being downloaded outside reader windows: the scheduler opens no new piece
 * past this many bytes of open ones (at least two pieces). Every open piece is a piece-sized buffer
 * until it verifies; with 16 MiB pieces (large files from qBittorrent or libtorrent) six uncapped
 * seeders kept 6-10 open, 121-181 MiB of buffers (38-39 MiB capped). 1 MiB pieces are not held
 * back in practice (25-29 open against a cap of 32, measured with six uncapped seeders).
 */
export const OPEN_PIECES_BYTES = 32 * 1024 * 1024;
/** Planning period while readers exist (the scheduler asks for 250-500 ms). */
const READER_PLAN_MS = 250;
/** Housekeeping tick: timeouts, dialling, interest. */
const TICK_MS = 1_000;

/** What the torrent needs from its engine. */
export interface TorrentHost {
  peerId: string;
  /** Peer-wire encryption for the connections we dial (MSE); default 'disabled'. */
  encryption?: EncryptionPolicy;
  port(): number;
  log: Logger;
  /** Global connection budget: may a new connection be made now? */
  canConnect(): boolean;
  connectionOpened(): void;
  connectionClosed(): void;
  saveResume(data: ResumeData): Promise<void>;
  /** Peer sources for this torrent besides the static ones (trackers, DHT). */
  sourcesFor(t: Torrent): PeerSource[];
  /** The engine-wide rate limits (issue 7); none = unlimited. */
  limits?: GlobalLimits;
  /** A reader was added or removed: the engine divides its bandwidth again (engine/bandwidth.ts). */
  readersChanged?(): void;
}

export interface TorrentInit {
  infohash: string;
  /** A magnet's v2 infohash (btmh), before the metadata says whether the torrent is hybrid. */
  infohashV2?: string;
  meta?: TorrentMeta;
  name?: string;
  root: string;
  contentPath?: string;
  resume?: ResumeData;
  selected?: number[] | 'all';
  paused?: boolean;
  addedAt?: string;
  /** Peers from the magnet (x.pe) or given at add time. */
  peers?: PeerAddress[];
  /** Trackers from the magnet (tr=) when there is no metainfo yet. */
  trackers?: string[];
  /** This torrent's own rate limits (restored from resume data); none = unlimited. */
  limits?: RateLimits;
}

export interface PeerInfo {
  address: string;
  client: string | undefined;
  incoming: boolean;
  /** 'none': no MSE; 'plaintext': MSE handshake, plaintext payload; 'rc4': all encrypted. */
  encryption: 'none' | 'plaintext' | 'rc4';
  downloadRate: number;
  uploadRate: number;
  downloaded: number;
  uploaded: number;
  chokingUs: boolean;
  interestedInUs: boolean;
  amChoking: boolean;
  amInterested: boolean;
  pieces: number | undefined;
  outstanding: number;
  strikes: number;
}

export interface TorrentSummary {
  infohash: string;
  name: string | undefined;
  state: TorrentState;
  error: string | undefined;
  length: number | undefined;
  pieceCount: number | undefined;
  pieceLength: number | undefined;
  havePieces: number;
  progress: number;
  downloaded: number;
  uploaded: number;
  wasted: number;
  downloadRate: number;
  uploadRate: number;
  peers: number;
  banned: number;
  addedAt: string;
  /** The files fetched: 'all', or the engine's file indices (which count pad files). */
  selected: number[] | 'all';
  /** The main video's duration when a caller gave it (dream-cli: the catalog's); sizes its streams. */
  durationSeconds?: number;
}

export interface TorrentDetail extends TorrentSummary {
  files: { index: number; path: string; length: number; bytes: number; selected: boolean; pad: boolean }[];
  peerList: PeerInfo[];
  /**
   * What is fetched ahead of each open reader (a player's request, the head and tail primed at
   * open): [start, end) in torrent byte offsets, the read position and the media rate it is sized
   * by. A paused player's window stays where it stopped reading.
   */
  readers: ReaderState[];
  /** Base64 of the verified-pieces bitfield (BitTorrent bit order). */
  bitfield: string | undefined;
  contentPath: string | undefined;
  root: string;
  private: boolean;
}

export class Torrent extends EventEmitter {
  readonly infohash: string;
  meta: TorrentMeta | undefined;
  store: PieceStore | undefined;
  state: TorrentState;
  error: string | undefined;
  paused: boolean;
  /** Where files are laid out (output_dir, or output_dir/<infohash> when names collide). */
  root: string;
  readonly contentPath: string | undefined;
  readonly addedAt: string;
  readonly peers = new Map<string, Peer>();
  readonly book = new PeerBook();
  private readonly partial = new Map<number, PieceAssembly>();
  /** Hybrid torrents: single blocks checked as they arrive, and hash questions (block-checking.ts). */
  readonly blockChecking = new BlockChecking({
    meta: () => this.meta,
    store: () => this.store,
    hybrid: () => this.v2HandshakeHash() !== undefined,
    peers: () => this.peers.values(),
    readers: () => this.readers.values(),
    assembly: (piece) => this.partial.get(piece),
    ban: (peer, reason) => this.ban(peer, reason),
    banKey: (key, reason) => this.banKey(key, reason),
    wasted: (bytes) => {
      this.wasted += bytes;
    },
    schedulePlan: () => this.schedulePlan(),
    readable: (piece) => this.emit('blocks', piece),
  });
  /** A peer answered our offer of the magnet's v2 hash with another: the btmh was wrong. */
  private magnetV2Refuted = false;
  /** v2HandshakeHash's answer for the metadata it was computed from. */
  private v2Hash: { meta: TorrentMeta; hash: string | undefined } | undefined;
  private readonly pool = new BufferPool();
  private readonly cache = new PieceCache((index, begin, into) => {
    const store = this.store;
    if (!store) return Promise.reject(new Error('no storage'));
    return store.readPieceInto(index, into, begin);
  });
  /** Blocks of pieces that failed their hash check, kept to convict the sender (smart ban). */
  private readonly suspects = new Map<number, BlockPrint[]>();
  private readonly strikes = new Map<string, { all: number; sole: number }>();
  private readonly bannedIds = new Set<string>();
  private readonly readers = new Map<string, ReaderState>();
  private readonly log: Logger;
  private sources: PeerSourceSet | undefined;
  private tick: NodeJS.Timeout | undefined;
  private chokeTimer: NodeJS.Timeout | undefined;
  private readerTimer: NodeJS.Timeout | undefined;
  private lastOptimisticAt = 0;
  private optimistic: string | undefined;
  private planPending = false;
  private dialing = 0;
  private nextPeerSeq = 0;
  private saving: Promise<void> | undefined;
  private selection: number[] | 'all';
  private name_: string | undefined;
  private readonly magnetTrackers: string[];
  private readonly init: TorrentInit;
  private stopped = false;
  private opening: Promise<void> | undefined;
  /** Aborts dials in progress when the torrent pauses or stops. */
  private dials = new AbortController();
  downloaded = 0;
  uploaded = 0;
  wasted = 0;
  /** Rate limits (src/ratelimit): this torrent's own, chained to the engine's. */
  readonly limits: TorrentLimits;
  /** Origin cost and background trading for streaming viewers (src/swarm-policy, issue 7). */
  private readonly policy = new SwarmPolicy();
  /**
   * The main video's duration in seconds when a caller told us (the catalog knows it for uploads):
   * streams of the torrent's largest file are sized at size / duration (durationOf). Not
   * persisted: the CLI gives it again with every stream.
   */
  durationSeconds: number | undefined;
  /** Index of the largest non-pad file, found once (the metadata never changes). */
  private mainFile: number | undefined;
  /** Requests in flight allowed by this torrent's share of the engine's budget (setShare). */
  private shareOutstanding: number | undefined;
  /** Whether the last plan fetched beyond reader windows (swarm-policy's choice), for demand(). */
  private backgroundInLastPlan = true;

  constructor(
    private readonly host: TorrentHost,
    init: TorrentInit,
  ) {
    super();
    this.init = init;
    this.infohash = init.infohash;
    this.meta = init.meta;
    this.name_ = init.name ?? init.meta?.name;
    this.root = init.root;
    this.contentPath = init.contentPath;
    this.paused = init.paused ?? false;
    this.selection = init.selected ?? 'all';
    this.addedAt = init.addedAt ?? new Date().toISOString();
    this.magnetTrackers = init.trackers ?? [];
    this.state = this.paused ? 'paused' : init.meta ? 'checking' : 'metadata';
    this.log = host.log.child({ infohash: this.infohash });
    if (init.peers) this.book.add(init.peers, 'given', Date.now());
    this.limits = new TorrentLimits(
      host.limits ?? new GlobalLimits({ upload: 0, download: 0 }),
      init.limits,
      () => this.schedulePlan(),
    );
  }

  get name(): string | undefined {
    return this.name_;
  }

  /** Opens storage (when the metadata is known) and, unless paused, starts peers and sources. */
  async start(): Promise<void> {
    if (this.meta) await this.openStore();
    if (!this.paused && !this.stopped) this.goActive();
  }

  private async openStore(): Promise<void> {
    const meta = this.meta;
    if (!meta || this.store) return;
    if (!this.opening) {
      this.opening = (async () => {
        if (!this.paused) this.state = 'checking';
        try {
          // A magnet's selection could not be checked at the add: it is now, before any file exists.
          const sel = this.selection;
          const outside = sel === 'all' ? [] : sel.filter((i) => i < 0 || i >= meta.files.length);
          if (outside.length > 0) {
            throw new Error(
              `the files selected when it was added (${outside.join(', ')}) are not in this torrent, whose ${meta.files.length} files are numbered 0 to ${meta.files.length - 1} (GET /api/torrents/${this.infohash} lists them): remove it and add it again with those numbers`,
            );
          }
          const open = (root: string) =>
            PieceStore.open(meta, { root, contentPath: this.contentPath, resume: this.init.resume });
          let store: PieceStore;
          try {
            store = await open(this.root);
          } catch (err) {
            // Another torrent already owns a file of the same name under this root (two releases
            // both called video.mkv): this one goes to root/<infohash>/ instead.
            if (!(err instanceof StorageError && err.code === 'IN_USE')) throw err;
            this.root = path.join(this.root, this.infohash);
            this.log.warn(
              { root: this.root },
              'file names taken by another torrent; storing under its infohash',
            );
            store = await open(this.root);
          }
          if (this.stopped) {
            await store.close();
            return;
          }
          this.store = store;
          store.on('resume', (data) => void this.persist(data));
          store.on('error', (err) => this.log.error({ err: err.message }, 'storage flush failed'));
          store.on('lost', (index) => {
            // A file shrank behind our back: the piece is no longer had; fetch it again.
            this.cache.clear();
            this.log.warn({ piece: index }, 'verified piece lost (file changed on disk)');
            this.updateState();
            for (const p of this.peers.values()) this.updateInterest(p);
            this.schedulePlan();
            this.dial();
          });
          if (this.selection !== 'all') store.setFileSelection(this.selection);
          this.updateState();
          // Metadata and storage are both there: streams waiting for this torrent can start.
          this.emit('ready');
          // The resume data is fsynced; create the data file first (see prepareFile), while the
          // first peers are dialled. A paused torrent touches no data file until it is resumed.
          const main = this.paused ? undefined : this.mainFileIndex();
          const prepared = main === undefined ? Promise.resolve(false) : store.prepareFile(main);
          void prepared.then(() => this.markResumeDirty(true));
        } catch (err) {
          this.state = 'error';
          this.error = (err as Error).message;
          this.log.error({ err }, 'cannot open storage');
          this.emit('error', err);
          // A magnet was active while its metadata came: its peers and sources stop with it.
          await this.deactivate();
        }
      })();
    }
    await this.opening;
  }

  private goActive(): void {
    if (this.state === 'error') return;
    this.updateState();
    const now = Date.now();
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.tick.unref();
    this.chokeTimer = setInterval(() => this.rechoke(false), CHOKE_INTERVAL_MS);
    this.chokeTimer.unref();
    // While a player reads, stalled urgent blocks are re-planned by elapsed time (the scheduler is
    // pure): plan every READER_PLAN_MS even when no block arrives.
    this.readerTimer = setInterval(() => {
      if (this.readers.size > 0) this.schedulePlan();
    }, READER_PLAN_MS);
    this.readerTimer.unref();
    this.lastOptimisticAt = now;
    this.startSources();
    this.dial();
  }

  private startSources(): void {
    const extra: PeerSource[] = this.host.sourcesFor(this);
    this.sources = new PeerSourceSet(extra);
    this.sources.start({
      infohash: this.infohash,
      port: this.host.port(),
      peerId: Buffer.from(this.host.peerId, 'hex'),
      stats: () => ({ uploaded: this.uploaded, downloaded: this.downloaded, left: this.bytesLeft() }),
      onPeers: (peers, source) => this.addPeers(peers, source),
      log: this.log,
    });
  }

  /** Trackers to use: the metainfo's tiers, else the magnet's. */
  trackerTiers(): string[][] {
    if (this.meta && this.meta.trackers.length > 0) return this.meta.trackers;
    return this.magnetTrackers.map((t) => [t]);
  }

  addPeers(peers: PeerAddress[], source: string): number {
    const n = this.book.add(peers, source, Date.now());
    if (n > 0) this.dial();
    return n;
  }

  private updateState(): void {
    if (this.state === 'error') return;
    if (this.paused) this.state = 'paused';
    else if (!this.meta) this.state = 'metadata';
    else if (!this.store) this.state = 'checking';
    else this.state = this.isDone() ? 'seeding' : 'downloading';
  }

  private wantedCache: Bitfield | undefined;

  /** Pieces of the selected files (cached: the store builds a new bitfield per call). */
  private wanted(): Bitfield {
    if (!this.wantedCache && this.store) this.wantedCache = this.store.wantedPieces();
    return this.wantedCache ?? new Bitfield(0);
  }

  /** Every wanted piece is verified. */
  isDone(): boolean {
    const store = this.store;
    if (!store) return false;
    const wanted = this.wanted();
    for (let i = 0; i < wanted.length; i++) if (wanted.get(i) && !store.have.get(i)) return false;
    return true;
  }

  bytesLeft(): number {
    const store = this.store;
    const meta = this.meta;
    if (!store || !meta) return meta?.length ?? 0;
    const wanted = this.wanted();
    let left = 0;
    for (let i = 0; i < meta.pieceCount; i++)
      if (wanted.get(i) && !store.have.get(i)) left += meta.pieceSize(i);
    return left;
  }

  // ---- connections -------------------------------------------------------------------------

  /** Prepares a fresh wire for this torrent before our handshake is sent. */
  setupWire(wire: GuardedWire): void {
    wire.extendedHandshake.v = 'Dream 0.1';
    wire.extendedHandshake.reqq = MAX_PEER_REQUESTS;
    wire.extendedHandshake.p = this.host.port();
    wire.use(utMetadata(this.meta?.info));
    if (!this.meta?.private) wire.use(utPex());
  }

  /**
   * Hybrid torrents whose blocks can be checked one by one: the v2 info hash as handshakes carry
   * it (truncated to 20 bytes). Offered so that peers upgrade the connection and answer our hash
   * requests (docs/design/block-verification.md).
   */
  v2HandshakeHash(): string | undefined {
    const meta = this.meta;
    // Before the metadata, a magnet's btmh: the first connections can then be upgraded (one made
    // on the v1 hash stays v1, and only v2 connections carry hash requests).
    if (!meta) return this.magnetV2Refuted ? undefined : this.init.infohashV2?.slice(0, 40);
    // Once per metadata: every incoming handshake naming an unknown hash asks every torrent.
    if (this.v2Hash?.meta !== meta) {
      const hash =
        meta.infohashV2 && meta.files.some((f) => f.piecesRoot) ? meta.infohashV2.slice(0, 40) : undefined;
      this.v2Hash = { meta, hash };
    }
    return this.v2Hash.hash;
  }

  private wantsConnections(): boolean {
    if (this.stopped || this.paused || this.state === 'error') return false;
    return this.peers.size + this.dialing < MAX_PEERS_PER_TORRENT;
  }

  private dial(): void {
    if (!this.wantsConnections()) return;
    // A complete torrent dials too (as libtorrent and Transmission do), but not peers already seen
    // complete: a leecher that cannot be dialled from where we are may still accept our call
    // (an uploader behind NAT, a Transmission leecher, which never dials loopback or LAN peers).
    const done = this.store !== undefined && this.isDone();
    const room = MAX_PEERS_PER_TORRENT - this.peers.size - this.dialing;
    const addrs = this.book.take(room, Date.now(), { skipSeeds: done });
    for (const addr of addrs) {
      if (!this.host.canConnect()) {
        this.book.markClosed(addr, Date.now(), true);
        continue;
      }
      this.dialing++;
      this.host.connectionOpened();
      const infohashV2 = this.v2HandshakeHash();
      dialPeer(addr, {
        infohash: this.infohash,
        ...(infohashV2 ? { infohashV2 } : {}),
        peerId: this.host.peerId,
        pieceCount: this.meta?.pieceCount,
        setup: (w) => this.setupWire(w),
        signal: this.dials.signal,
        ...(this.host.encryption ? { encryption: this.host.encryption } : {}),
      }).then(
        (h) => {
          this.dialing--;
          if (!this.attach(h, true)) this.host.connectionClosed();
        },
        (err: Error) => {
          this.dialing--;
          this.host.connectionClosed();
          this.book.markClosed(addr, Date.now(), false);
          // A v2 peer answers our v2 bit with the torrent's v2 hash: not the magnet's, so the
          // magnet's btmh is wrong. Offer it no more; the v1 hash still finds the torrent.
          if (err instanceof OtherTorrent && !this.meta && infohashV2) this.magnetV2Refuted = true;
          this.log.debug({ peer: addressKey(addr), err: err.message }, 'dial failed');
        },
      );
    }
  }

  /** Whether an incoming connection for this torrent may be accepted. */
  acceptsIncoming(): boolean {
    return !this.stopped && !this.paused && this.state !== 'error' && this.peers.size < MAX_PEERS_PER_TORRENT;
  }

  /**
   * Adopts a handshaken connection. `counted` = the engine's connection budget already counts it.
   * Returns false (and closes it) when refused.
   */
  attach(h: Handshaken, counted = false): boolean {
    const refuse = () => {
      h.wire.destroy();
      h.socket.destroy();
      if (!h.incoming) this.book.markClosed(h.remote, Date.now(), false);
      return false;
    };
    if (this.stopped || this.paused || this.state === 'error' || this.bannedIds.has(h.peerId))
      return refuse();
    if (this.book.isBanned(h.remote)) return refuse();
    for (const p of this.peers.values()) if (p.peerId === h.peerId) return refuse();
    if (!counted) this.host.connectionOpened();
    const peer = new Peer({
      id: `${h.peerId.slice(0, 16)}-${this.nextPeerSeq++}`,
      remote: h.remote,
      incoming: h.incoming,
      wire: h.wire,
      socket: h.socket,
      peerId: h.peerId,
      ...(h.rttMs !== undefined ? { rttMs: h.rttMs } : {}),
      encryption: h.encryption,
    });
    this.peers.set(peer.id, peer);
    if (!h.incoming) this.book.markConnected(h.remote, Date.now());
    this.wirePeer(peer);
    this.log.debug({ peer: addressKey(h.remote), incoming: h.incoming }, 'peer connected');
    this.emit('peer', { address: addressKey(h.remote), incoming: h.incoming });
    return true;
  }

  private wirePeer(peer: Peer): void {
    const wire = peer.wire;
    const meta = this.meta;
    wire.setKeepAlive(true);
    if (meta) {
      peer.initHas(meta.pieceCount);
      if (this.store && this.store.have.count() > 0) wire.bitfield(this.store.have.toBytes());
      // The peer's bitfield may have arrived with its handshake, before these listeners.
      this.updateInterest(peer);
      this.schedulePlan();
    }
    wire.on('bitfield', () => {
      if (!this.meta) return;
      peer.has = undefined;
      peer.initHas(this.meta.pieceCount);
      this.updateInterest(peer);
      this.schedulePlan();
    });
    wire.on('have', (index: number) => {
      if (!peer.has) return;
      peer.has.set(index);
      if (!peer.wire.amInterested && this.needs(index)) peer.wire.interested();
      this.schedulePlan();
    });
    wire.on('unchoke', () => this.schedulePlan());
    wire.on('choke', () => {
      // Without the fast extension a choke discards our requests (bittorrent-protocol fails them).
      peer.inFlight.clear();
      this.schedulePlan();
    });
    wire.on('interested', () => this.onInterested(peer));
    wire.on('uninterested', () => {
      if (!peer.wire.amChoking) peer.wire.choke();
    });
    wire.on('request', (index: number, offset: number, length: number, cb: RespondCb) =>
      this.onRequest(peer, index, offset, length, cb),
    );
    wire.on('upload', (n: number) => {
      this.uploaded += n;
    });
    wire.on('extended', (ext: string) => {
      if (ext === 'handshake') this.onExtendedHandshake(peer);
    });
    wire.on('violation', (reason: string) => this.ban(peer, `protocol violation: ${reason}`));
    wire.on('hash-answer', (answer: HashAnswer) => this.blockChecking.onHashAnswer(peer, answer));
    wire.on('hash-request', (q: HashQuestion) => void this.blockChecking.onHashRequest(peer, q));
    wire.once('close', () => this.detach(peer, 'wire closed'));
    wire.once('end', () => this.detach(peer, 'wire ended'));
    peer.socket.once('close', () => this.detach(peer, 'socket closed'));

    const md = wire.ut_metadata as MetadataExt | undefined;
    if (md) {
      md.on('warning', () => {});
      if (!meta) {
        md.once('metadata', () => {
          if (md.metadata) this.onMetadata(md.metadata);
        });
        md.fetch();
      }
    }
    const pex = wire.ut_pex as PexExt | undefined;
    if (pex) {
      pex.on('warning', () => {});
      let learnt = 0;
      pex.on('peer', (addr: string) => {
        if (learnt >= MAX_PEX_PEERS_PER_CONNECTION) return;
        const parsed = parseHostPort(addr);
        if (!parsed) return;
        learnt++;
        this.addPeers([parsed], 'pex');
      });
    }
  }

  private onExtendedHandshake(peer: Peer): void {
    const hs = peer.wire.peerExtendedHandshake;
    const reqq = hs.reqq;
    if (typeof reqq === 'number' && reqq > 0) peer.maxOutstanding = Math.min(MAX_PIPELINE, Math.floor(reqq));
    const v = hs.v;
    if (v instanceof Uint8Array) peer.client = Buffer.from(v).toString('utf8').slice(0, 64);
    const p = hs.p;
    if (peer.incoming && typeof p === 'number' && p > 0 && p < 65536) {
      peer.listen = { host: peer.remote.host, port: p };
      if (this.book.isBanned(peer.listen)) {
        this.ban(peer, 'banned address');
        return;
      }
      this.book.markConnected(peer.listen, Date.now());
    }
    const pex = peer.wire.ut_pex as PexExt | undefined;
    if (pex && (hs.m as Record<string, unknown> | undefined)?.ut_pex) {
      pex.start();
      for (const other of this.peers.values()) {
        if (other !== peer && !other.listen.host.includes(':')) pex.addPeer(addressKey(other.listen));
      }
      if (!peer.listen.host.includes(':')) {
        for (const other of this.peers.values()) {
          const op = other.wire.ut_pex as PexExt | undefined;
          if (other !== peer && op) op.addPeer(addressKey(peer.listen));
        }
      }
    }
  }

  private detach(peer: Peer, why: string): void {
    if (!this.peers.has(peer.id)) return;
    this.log.debug({ peer: addressKey(peer.listen), why }, 'peer disconnected');
    this.peers.delete(peer.id);
    peer.close();
    this.host.connectionClosed();
    peer.inFlight.clear();
    if (!this.book.isBanned(peer.listen)) {
      this.book.markClosed(
        peer.listen,
        Date.now(),
        peer.usefulBytes > 0 || Date.now() - peer.connectedAt > 60_000,
      );
    }
    if (this.optimistic === peer.id) this.optimistic = undefined;
    this.schedulePlan();
    this.dial();
  }

  /** Disconnects and refuses this peer (address and peer id) for the rest of the session. */
  ban(peer: Peer, reason: string): void {
    this.book.ban(peer.listen);
    this.book.ban(peer.remote);
    this.bannedIds.add(peer.peerId);
    this.log.warn({ peer: addressKey(peer.listen), reason }, 'peer banned');
    this.emit('ban', { address: addressKey(peer.listen), reason });
    this.detach(peer, 'banned');
  }

  private banKey(key: string, reason: string): void {
    for (const p of this.peers.values()) {
      if (addressKey(p.listen) === key) {
        this.ban(p, reason);
        return;
      }
    }
    const parsed = parseHostPort(key);
    if (parsed) this.book.ban(parsed);
    this.log.warn({ peer: key, reason }, 'peer banned');
    this.emit('ban', { address: key, reason });
  }

  // ---- metadata (magnet) ---------------------------------------------------------------------

  private onMetadata(info: Uint8Array): void {
    if (this.meta || info.length > MAX_METADATA_SIZE) return;
    let meta: TorrentMeta;
    try {
      meta = parseInfo(info, this.infohash);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'metadata from peer refused');
      return;
    }
    this.meta = meta;
    this.name_ = meta.name;
    this.log.info({ name: meta.name, pieces: meta.pieceCount }, 'metadata received');
    for (const p of this.peers.values()) {
      p.wire.pieceCount = meta.pieceCount;
      const md = p.wire.ut_metadata as MetadataExt | undefined;
      md?.cancel();
      void md?.setMetadata(meta.info);
      p.initHas(meta.pieceCount);
    }
    this.emit('metadata', meta);
    void this.openStore().then(() => {
      if (!this.store) return;
      for (const p of this.peers.values()) {
        if (this.store.have.count() > 0) p.wire.bitfield(this.store.have.toBytes());
        this.updateInterest(p);
      }
      this.schedulePlan();
    });
  }

  // ---- downloading ---------------------------------------------------------------------------

  /** We want piece `index` and do not have it. */
  private needs(index: number): boolean {
    const store = this.store;
    if (!store) return false;
    return !store.have.get(index) && this.wanted().get(index);
  }

  private updateInterest(peer: Peer): void {
    const store = this.store;
    if (!store || !peer.has) return;
    const wanted = this.wanted();
    let interesting = false;
    for (let i = 0; i < peer.has.length; i++) {
      if (peer.has.get(i) && wanted.get(i) && !store.have.get(i)) {
        interesting = true;
        break;
      }
    }
    if (interesting) peer.wire.interested();
    else peer.wire.uninterested();
  }

  /** Coalesces plan runs: at most one per event-loop turn, however many blocks arrived. */
  schedulePlan(): void {
    if (this.planPending || this.stopped) return;
    this.planPending = true;
    setImmediate(() => {
      this.planPending = false;
      this.plan();
    });
  }

  private plan(): void {
    const store = this.store;
    const meta = this.meta;
    if (!store || !meta || this.paused || this.stopped || this.state === 'error') return;
    if (this.isDone() && this.readers.size === 0) return;
    const now = Date.now();
    const inFlight: InFlightRequest[] = [];
    const peers: PeerState[] = [];
    let partialPeers = 0;
    for (const p of this.peers.values()) {
      if (!p.has) continue;
      const cost = this.policy.cost({ key: p, has: p.has });
      if (cost === 1 && !p.has.isComplete()) partialPeers++;
      for (const r of p.inFlight.values()) inFlight.push({ peerId: p.id, ...r });
      // The pipeline depth for the peer's rate is the scheduler's (pipelineDepth); the cap is
      // what the peer accepts (its reqq).
      peers.push({
        id: p.id,
        has: p.has,
        chokingUs: p.wire.peerChoking,
        downloadRate: p.downloadRate(),
        fresh: p.wire.downloaded === 0,
        ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
        outstanding: p.inFlight.size,
        maxOutstanding: p.maxOutstanding,
        snubbed: p.snubbed,
        cost,
      });
    }
    if (peers.length === 0) return;
    // Disk slower than the network: let the pieces in memory drain before starting new ones.
    let writing = 0;
    for (const a of this.partial.values()) if (a.writing) writing++;
    if (writing >= MAX_PIECES_IN_MEMORY) return;
    // While a player reads, fetch only what its window asks for: a paused player must not eat
    // the user's bandwidth (WebTorrent's issue #803). With no reader, a torrent downloads all.
    // (swarm-policy can let a playing viewer trade a little in the background; off, as measured.)
    const background = this.policy.background({
      paused: this.paused,
      readers: this.readers.size,
      partialPeers,
      now,
    });
    this.backgroundInLastPlan = background.background;
    const blockwise = this.blockChecking.blockwise();
    const plan = planRequests({
      now,
      pieceCount: meta.pieceCount,
      pieceLength: meta.pieceLength,
      blockSize: BLOCK_SIZE,
      totalLength: meta.length,
      have: store.have,
      wanted: this.wanted(),
      partial: this.partial,
      inFlight,
      peers,
      readers: [...this.readers.values()],
      ...(blockwise ? { blockwise } : {}),
      maxOpenPieces: Math.max(2, Math.floor(OPEN_PIECES_BYTES / meta.pieceLength)),
      ...(this.shareOutstanding !== undefined ? { maxTotalOutstanding: this.shareOutstanding } : {}),
      ...background,
    });
    this.blockChecking.askForLeaves(now);
    for (const c of plan.cancels) {
      const p = this.peers.get(c.peerId);
      if (!p) continue;
      if (p.inFlight.delete(blockKey(c.piece, c.begin))) p.wire.cancel(c.piece, c.begin, c.length);
    }
    for (const r of plan.requests) {
      const p = this.peers.get(r.peerId);
      if (!p || p.wire.peerChoking) continue;
      // Download limit: the rest of the plan waits for tokens (the limiter plans again then).
      if (!this.limits.mayRequest(r.length)) break;
      this.request(p, r.piece, r.begin, r.length, now);
    }
  }

  private request(peer: Peer, piece: number, begin: number, length: number, now: number): void {
    const key = blockKey(piece, begin);
    if (peer.inFlight.has(key)) return;
    peer.inFlight.set(key, { piece, begin, length, requestedAt: now });
    peer.firstRequestAt ??= now;
    if (!peer.wire.amInterested) peer.wire.interested();
    peer.wire.request(piece, begin, length, (err, block) => {
      // Only the request still recorded counts: a cancelled/timed-out one was re-planned already.
      if (peer.inFlight.get(key)?.requestedAt !== now) {
        if (!err && block) this.onBlock(peer, piece, begin, block, false);
        return;
      }
      peer.inFlight.delete(key);
      if (err || !block) {
        this.schedulePlan();
        return;
      }
      this.onBlock(peer, piece, begin, block, true);
    });
  }

  private onBlock(peer: Peer, piece: number, begin: number, block: Uint8Array, planned: boolean): void {
    const meta = this.meta;
    const store = this.store;
    if (!meta || !store) return;
    this.downloaded += block.length;
    peer.lastBlockAt = Date.now();
    peer.snubbed = false;
    if (store.have.get(piece)) return;
    let a = this.partial.get(piece);
    if (!a) {
      if (piece >= meta.pieceCount) return;
      a = new PieceAssembly(piece, meta.pieceSize(piece), this.pool);
      this.partial.set(piece, a);
    }
    if (!a.add(begin, block, addressKey(peer.listen))) {
      this.wasted += block.length;
      return;
    }
    if (!this.blockChecking.onBlock(a, begin)) return; // it failed its leaf hash: the sender is gone
    // Endgame: the same block may be in flight elsewhere; cancel those copies.
    const key = blockKey(piece, begin);
    for (const other of this.peers.values()) {
      if (other !== peer && other.inFlight.delete(key)) other.wire.cancel(piece, begin, block.length);
    }
    if (a.complete) void this.finishPiece(a);
    if (planned) this.schedulePlan();
  }

  private async finishPiece(a: PieceAssembly): Promise<void> {
    const store = this.store;
    if (!store) return;
    a.writing = true;
    let result: 'ok' | 'hash-mismatch';
    try {
      result = await store.writePiece(a.index, a.buf);
    } catch (err) {
      this.partial.delete(a.index);
      this.log.error({ err, piece: a.index }, 'cannot write piece');
      this.state = 'error';
      this.error = `cannot write piece ${a.index}: ${(err as Error).message}`;
      this.emit('error', err);
      return;
    }
    this.partial.delete(a.index);
    if (result === 'ok') this.blockChecking.pieceDone(a.index);
    if (this.stopped) return;
    // Convicting (below) reads the buffer synchronously; it is free for reuse after this turn.
    setImmediate(() => this.pool.give(a.buf));
    if (result === 'ok') {
      const senders = a.contributors();
      for (const p of this.peers.values()) {
        if (senders.has(addressKey(p.listen))) p.usefulBytes += a.size;
      }
      const prints = this.suspects.get(a.index);
      if (prints) {
        this.suspects.delete(a.index);
        for (const guilty of convict(prints, a.buf))
          this.banKey(guilty, `sent corrupt data for piece ${a.index}`);
      }
      for (const p of this.peers.values()) p.wire.have(a.index);
      this.emit('piece', a.index);
      if (this.isDone()) {
        this.updateState();
        for (const p of this.peers.values()) this.updateInterest(p);
        this.markResumeDirty(true);
        this.log.info('download complete');
        this.emit('done');
      }
    } else {
      this.wasted += a.size;
      this.log.warn({ piece: a.index }, 'piece failed its hash check');
      this.emit('hash-failure', a.index);
      const prints = this.suspects.get(a.index) ?? [];
      prints.push(...a.fingerprints());
      this.suspects.set(a.index, prints.slice(-4 * a.blocks));
      const senders = a.contributors();
      for (const key of senders) {
        const s = this.strikes.get(key) ?? { all: 0, sole: 0 };
        s.all++;
        if (senders.size === 1) s.sole++;
        this.strikes.set(key, s);
        if (s.all >= MAX_STRIKES || s.sole >= MAX_SOLE_STRIKES) {
          this.banKey(key, `${s.all} pieces failed their hash check`);
        }
      }
      for (const p of this.peers.values()) {
        const s = this.strikes.get(addressKey(p.listen));
        if (s) p.strikes = s.all;
      }
    }
    this.schedulePlan();
  }

  /**
   * Hybrid torrents: checked bytes of a piece not yet verified whole, from `begin` (piece-relative),
   * at most `max`, a copy; undefined when none (block-checking.ts).
   */
  readCheckedBlocks(piece: number, begin: number, max: number): Buffer | undefined {
    return this.blockChecking.readChecked(piece, begin, max);
  }

  // ---- uploading -----------------------------------------------------------------------------

  private onRequest(peer: Peer, index: number, offset: number, length: number, cb: RespondCb): void {
    const store = this.store;
    const meta = this.meta;
    if (!store || !meta || !store.have.get(index) || offset + length > meta.pieceSize(index)) {
      cb(new Error('not available'));
      return;
    }
    // Upload limit: the block is read (and the piece message sent) once tokens allow, so blocks
    // waiting for tokens hold no memory. Then the peer's gate: read only while its connection has
    // room (swarm/upload-gate.ts). Gating after the limiter, not before, keeps the limiter's FIFO
    // across peers as it was: gated first, a capped origin answered every viewer's first requests
    // sooner and became their favourite source (bench/swarm.ts, joins 0.25 s apart: origin share
    // 0.13 -> 0.25, stalls up to 1.3 s).
    const answer = (done: () => void) =>
      this.cache
        .block(index, meta.pieceSize(index), offset, length)
        .then(
          (block) => cb(null, block),
          (err: Error) => cb(err),
        )
        .finally(done);
    const stillWanted = () => peer.wire.peerStillWants(index, offset, length);
    this.limits.sendUpload(length, () => peer.uploads.submit(length, answer, stillWanted));
  }

  private onInterested(peer: Peer): void {
    if (!peer.wire.amChoking) return;
    let unchoked = 0;
    for (const p of this.peers.values()) if (!p.wire.amChoking) unchoked++;
    // A free slot is given at once rather than at the next choke round.
    if (unchoked < UNCHOKE_SLOTS) peer.wire.unchoke();
  }

  private rechoke(forceRotate: boolean): void {
    const now = Date.now();
    const rotate = forceRotate || now - this.lastOptimisticAt >= OPTIMISTIC_INTERVAL_MS;
    if (rotate) this.lastOptimisticAt = now;
    const list = [...this.peers.values()];
    const decision = chooseUnchoked(
      list.map((p) => ({
        id: p.id,
        interested: p.wire.peerInterested,
        downloadRate: p.downloadRate(),
        uploadRate: p.uploadRate(),
        connectedAt: p.connectedAt,
        seed: p.has ? p.has.isComplete() : false,
      })),
      { seeding: this.isDone(), now, optimistic: this.optimistic, rotate, random: Math.random },
    );
    this.optimistic = decision.optimistic;
    for (const p of list) {
      if (decision.unchoke.has(p.id)) p.wire.unchoke();
      else p.wire.choke();
    }
  }

  // ---- housekeeping --------------------------------------------------------------------------

  private onTick(): void {
    const now = Date.now();
    // Two seeds have nothing to trade: the connection only costs a slot on both sides.
    const done = this.isDone() && this.readers.size === 0;
    for (const p of [...this.peers.values()]) {
      if (done && p.has?.isComplete() && now - p.connectedAt > 5_000) {
        this.detach(p, 'both seeds');
        this.book.markSeed(p.listen);
        continue;
      }
      if (now - p.wire.lastMessageAt > IDLE_TIMEOUT_MS) {
        this.log.debug({ peer: addressKey(p.listen) }, 'idle peer dropped');
        this.detach(p, 'idle');
        continue;
      }
      let expired = false;
      for (const [key, r] of p.inFlight) {
        if (now - r.requestedAt > REQUEST_TIMEOUT_MS) {
          p.inFlight.delete(key);
          p.wire.cancel(r.piece, r.begin, r.length);
          expired = true;
        }
      }
      if (expired) p.snubbed = true;
      if (this.store && !p.inFlight.size) this.updateInterest(p);
    }
    if (this.peers.size < 10) this.sources?.needMorePeers();
    this.dial();
    this.schedulePlan();
  }

  // ---- selection, readers, control -----------------------------------------------------------

  setFileSelection(sel: number[] | 'all'): void {
    this.selection = sel;
    if (!this.store) return;
    this.store.setFileSelection(sel);
    this.wantedCache = undefined;
    this.updateState();
    for (const p of this.peers.values()) this.updateInterest(p);
    this.markResumeDirty(true);
    this.schedulePlan();
    this.dial();
  }

  get selectedFiles(): number[] | 'all' {
    return this.selection;
  }

  /**
   * A player opened a stream of this file: it is wanted now, whatever the selection said (a pack
   * added with one episode selected, then another episode played). Unselected pieces are never
   * requested, so without this the stream would wait forever. The file joins the selection (kept
   * in the resume data like any selection), and the other unselected files stay as they were.
   */
  selectForStreaming(fileIndex: number): void {
    const sel = this.selection;
    if (sel === 'all' || sel.includes(fileIndex)) return;
    this.log.info({ file: fileIndex }, 'a stream opened an unselected file: selecting it');
    this.setFileSelection([...sel, fileIndex].sort((a, b) => a - b));
  }

  /** The given duration if `fileIndex` is the torrent's main (largest) file, else undefined. */
  durationOf(fileIndex: number): number | undefined {
    if (this.durationSeconds === undefined) return undefined;
    return this.mainFileIndex() === fileIndex ? this.durationSeconds : undefined;
  }

  /** The largest non-pad file: the video a player of this torrent opens. Undefined before metadata. */
  private mainFileIndex(): number | undefined {
    const meta = this.meta;
    if (!meta) return undefined;
    if (this.mainFile === undefined) {
      let main: { index: number; length: number } | undefined;
      for (const f of meta.files) if (!f.pad && (!main || f.length > main.length)) main = f;
      this.mainFile = main?.index ?? -1;
    }
    return this.mainFile >= 0 ? this.mainFile : undefined;
  }

  /**
   * What this torrent wants from the engine's download budget (scheduler/budget.ts): the media rate
   * of the readers whose windows still miss pieces, and whether it downloads beyond them.
   */
  demand(): TorrentDemand {
    const demand: TorrentDemand = { id: this.infohash, streamingRate: 0, background: false };
    const store = this.store;
    const meta = this.meta;
    if (!store || !meta || this.paused || this.stopped || this.state === 'error') return demand;
    const wanted = this.wanted();
    for (const r of this.readers.values()) {
      if (r.end <= r.start) continue;
      const first = Math.floor(r.start / meta.pieceLength);
      const last = Math.min(meta.pieceCount - 1, Math.floor((r.end - 1) / meta.pieceLength));
      for (let i = first; i <= last; i++) {
        if (wanted.get(i) && !store.have.get(i)) {
          demand.streamingRate += r.bytesPerSecond;
          break;
        }
      }
    }
    demand.background = this.backgroundInLastPlan && !this.isDone();
    return demand;
  }

  /**
   * The engine's share of its download budget for this torrent, bytes/s (Infinity: none). It paces
   * requests (a share bucket in this torrent's limit chain) and bounds what is in flight to one
   * second of it, so a torrent with many fast peers cannot queue the link away from a stream.
   */
  setShare(bytesPerSecond: number): void {
    const limited = Number.isFinite(bytesPerSecond) && bytesPerSecond > 0;
    this.limits.setShare(limited ? bytesPerSecond : 0);
    const out = limited ? outstandingFor(bytesPerSecond) : undefined;
    if (out === this.shareOutstanding) return;
    this.shareOutstanding = out;
    this.schedulePlan();
  }

  /** Streaming (issue 4): a reader's window of wanted bytes; undefined removes it. */
  setReader(id: string, window: ReaderState | undefined): void {
    const had = this.readers.has(id);
    // A new window that asks for bytes (not the empty one that holds streaming mode between a
    // player's connections): its file is created now rather than under its first piece.
    if (window && !had && window.end > window.start) void this.store?.prepareFileAt(window.start);
    if (window) this.readers.set(id, window);
    else this.readers.delete(id);
    if (had !== this.readers.has(id)) this.host.readersChanged?.();
    this.policy.noteReader(id, window, Date.now());
    this.schedulePlan();
  }

  async pause(): Promise<void> {
    if (this.paused) return;
    this.paused = true;
    await this.deactivate();
    this.updateState();
    await this.flushResume(true);
  }

  async resume(): Promise<void> {
    if (!this.paused) return;
    this.paused = false;
    if (this.state === 'error') this.state = 'checking';
    this.error = undefined;
    if (this.meta && !this.store) await this.openStore();
    this.updateState();
    this.markResumeDirty(true);
    this.goActive();
  }

  private async deactivate(): Promise<void> {
    this.dials.abort();
    this.dials = new AbortController();
    clearInterval(this.tick);
    clearInterval(this.chokeTimer);
    clearInterval(this.readerTimer);
    this.tick = undefined;
    this.chokeTimer = undefined;
    for (const p of [...this.peers.values()]) this.detach(p, 'stopping');
    this.partial.clear();
    this.cache.clear();
    const sources = this.sources;
    this.sources = undefined;
    await sources?.stop().catch(() => {});
  }

  /** True once stop() was called (removed, or the engine is stopping): it will not start again. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops everything and flushes resume data; the store stays open only if `keepStore`. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // For whoever waits on this torrent's metadata (a stream request for a magnet): it never comes.
    this.emit('stopped');
    this.limits.close();
    await this.deactivate();
    await this.opening;
    await this.flushResume(true);
    await this.saving;
    await this.store?.close().catch(() => {});
    // Closing flushes once more and emits 'resume', which saves again: that save too must be done
    // when stop() resolves, or it lands after the engine has stopped (over a file the caller may
    // already be reading or replacing).
    await this.saving;
  }

  /**
   * Persists resume data. The store flushes on its own (fsync, then stat) about a second after
   * pieces complete and emits 'resume'; state changes here (pause, selection) re-save the last
   * flushed data with the new flags; `full` (stop, done) forces a flush first.
   */
  private markResumeDirty(full: boolean): void {
    void this.flushResume(full);
  }

  async flushResume(full = true): Promise<void> {
    const store = this.store;
    if (!store) return;
    let data: ResumeData;
    try {
      data = full ? await store.flush() : store.resumeData();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot flush storage for resume data');
      return;
    }
    await this.persist(data);
  }

  /** Changes this torrent's own rate limits (absent keys stay); they are saved with its resume data. */
  setLimits(limits: Partial<RateLimits>): RateLimits {
    const now = this.limits.set(limits);
    this.markResumeDirty(false);
    return now;
  }

  /** Saves one ResumeData, in order (a later save never overtaken by an earlier one). */
  private persist(data: ResumeData): Promise<void> {
    const limits = this.limits.get();
    const full: ResumeData = {
      ...data,
      paused: this.paused,
      selected: this.selection,
      addedAt: this.addedAt,
      ...(limits.upload > 0 || limits.download > 0 ? { limits } : {}),
    };
    const prev = this.saving ?? Promise.resolve();
    const next = prev
      .then(() => this.host.saveResume(full))
      .catch((err: Error) => this.log.error({ err: err.message }, 'cannot save resume data'));
    this.saving = next;
    return next;
  }

  // ---- views ---------------------------------------------------------------------------------

  summary(): TorrentSummary {
    const meta = this.meta;
    const have = this.store?.have.count() ?? 0;
    let down = 0;
    let up = 0;
    for (const p of this.peers.values()) {
      down += p.downloadRate();
      up += p.uploadRate();
    }
    let progress = 0;
    if (this.store && meta) {
      const left = this.bytesLeft();
      const wanted = this.wanted();
      let total = 0;
      for (let i = 0; i < meta.pieceCount; i++) if (wanted.get(i)) total += meta.pieceSize(i);
      progress = total === 0 ? 1 : (total - left) / total;
    }
    return {
      infohash: this.infohash,
      name: this.name_,
      state: this.state,
      error: this.error,
      length: meta?.length,
      pieceCount: meta?.pieceCount,
      pieceLength: meta?.pieceLength,
      havePieces: have,
      progress,
      downloaded: this.downloaded,
      uploaded: this.uploaded,
      wasted: this.wasted,
      downloadRate: Math.round(down),
      uploadRate: Math.round(up),
      peers: this.peers.size,
      banned: this.book.bannedCount(),
      addedAt: this.addedAt,
      selected: this.selection === 'all' ? 'all' : [...this.selection],
      ...(this.durationSeconds !== undefined ? { durationSeconds: this.durationSeconds } : {}),
    };
  }

  detail(): TorrentDetail {
    const meta = this.meta;
    const progress = new Map<number, number>();
    for (const f of this.store?.fileProgress() ?? []) progress.set(f.index, f.bytes);
    const sel = this.selection;
    return {
      ...this.summary(),
      files: (meta?.files ?? []).map((f) => ({
        index: f.index,
        path: f.path,
        length: f.length,
        bytes: progress.get(f.index) ?? 0,
        selected: sel === 'all' || sel.includes(f.index),
        pad: f.pad,
      })),
      readers: [...this.readers.values()].map((r) => ({ ...r })),
      peerList: [...this.peers.values()].map((p) => ({
        address: addressKey(p.listen),
        client: p.client,
        incoming: p.incoming,
        encryption: p.encryption,
        downloadRate: Math.round(p.downloadRate()),
        uploadRate: Math.round(p.uploadRate()),
        downloaded: p.wire.downloaded,
        uploaded: p.wire.uploaded,
        chokingUs: p.wire.peerChoking,
        interestedInUs: p.wire.peerInterested,
        amChoking: p.wire.amChoking,
        amInterested: p.wire.amInterested,
        pieces: p.has?.count(),
        outstanding: p.inFlight.size,
        strikes: this.strikes.get(addressKey(p.listen))?.all ?? 0,
      })),
      bitfield: this.store ? Buffer.from(this.store.have.toBytes()).toString('base64') : undefined,
      contentPath: this.contentPath,
      root: this.root,
      private: meta?.private ?? false,
    };
  }
}

type RespondCb = (err: Error | null, block?: Uint8Array) => void;

interface MetadataExt extends EventEmitter {
  metadata?: Uint8Array;
  fetch(): void;
  cancel(): void;
  setMetadata(info: Uint8Array): Promise<boolean>;
}

interface PexExt extends EventEmitter {
  start(): void;
  addPeer(addr: string): void;
}

function blockKey(piece: number, begin: number): string {
  return `${piece}:${begin}`;
}

function parseHostPort(s: string): PeerAddress | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m?.[1] || !m[2]) return undefined;
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) return undefined;
  return { host: m[1], port };
}
