/**
 * The engine: every torrent of this process, the shared listener, the global connection budget,
 * peer sources and resume data. A library with an in-process API (the control API, tests and the
 * streaming reader drive it); it knows nothing of HTTP. See docs/design/engine.md.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@dream/config';
import type { PeerAddress } from '../bitfield.js';
import { CreateError, createTorrent, type HashedContent, seedInPlaceResume } from '../create/index.js';
import { MetainfoError, parseMagnet, parseTorrent, type TorrentMeta } from '../metainfo/index.js';
import { checkLimits, GlobalLimits, type RateLimits } from '../ratelimit/index.js';
import { metaFromResume, type ResumeData, ResumeStore } from '../resume/index.js';
import { type DhtLike, dhtSource, type PeerSource, trackerSources } from '../sources/index.js';
import { type Handshaken, PeerListener } from '../swarm/connect.js';
import type { EncryptionPolicy } from '../wire/mse/handshake.js';
import { BUDGET_INTERVAL_MS, shareBandwidth } from './bandwidth.js';
import { EngineError } from './errors.js';
import { PendingMagnets } from './pending-magnets.js';
import { Torrent, type TorrentDetail, type TorrentHost, type TorrentSummary } from './torrent.js';

export interface EngineOptions {
  /** general.output_dir: downloads go under it. */
  outputDir: string;
  /** Where resume data lives (general.state_dir + '/torrents'); undefined = no persistence. */
  resumeDir?: string;
  /** torrent.host / torrent.port: the BitTorrent listener (port 0 picks one). */
  host: string;
  port: number;
  /** torrent.max_connections: peer connections across all torrents. */
  maxConnections: number;
  /** The DHT (dream-dht's client); undefined when dht.enabled is false. */
  dht?: DhtLike;
  log: Logger;
  /** Use trackers from the metainfo/magnets (default true). */
  trackers?: boolean;
  /** torrent.upload_rate_limit / download_rate_limit, bytes/s (0 or absent = unlimited). */
  uploadRateLimit?: number;
  downloadRateLimit?: number;
  /** Peer-wire encryption (MSE), torrent.encryption; default 'enabled'. */
  encryption?: EncryptionPolicy;
}

export type AddInput =
  /**
   * With `path`: seed this torrent from that file or folder in place. With `hashed` too: what the
   * caller's own hashing of that path found (dream-cli upload runs createTorrent with a progress
   * bar, then adds), so the store does not hash it a second time.
   */
  | { torrent: Uint8Array; path?: string; hashed?: HashedContent }
  | { magnet: string }
  | { infohash: string }
  | { path: string; name?: string };

export interface AddOptions {
  paused?: boolean;
  selected?: number[] | 'all';
  peers?: PeerAddress[];
  /**
   * The main video's duration as the caller knows it (dream-cli: from the catalog entry), for
   * formats whose header the engine cannot read; it sizes readahead windows (Torrent.durationSeconds).
   */
  durationSeconds?: number;
}

export interface EngineEvents {
  added: [TorrentSummary];
  removed: [string];
  metadata: [string];
  piece: [string, number];
  'peer-connected': [string, { address: string; incoming: boolean }];
  'peer-banned': [string, { address: string; reason: string }];
  'hash-failure': [string, number];
  done: [string];
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly peerId: string;
  readonly encryption: EncryptionPolicy;
  private readonly torrents = new Map<string, Torrent>();
  private readonly listener: PeerListener;
  private readonly resumeStore: ResumeStore | undefined;
  private readonly pending: PendingMagnets | undefined;
  /** Magnets saved as pending whose first resume data has not been written yet. */
  private readonly pendingSaved = new Set<string>();
  private readonly log: Logger;
  private connections = 0;
  private listenPort = 0;
  private closing = false;
  /** Engine-wide rate limits, shared by every torrent (docs/design/swarm.md#rate-limits). */
  private readonly globalLimits: GlobalLimits;
  /** Divides the download bandwidth between torrents every second (engine/bandwidth.ts). */
  private budgetTimer: NodeJS.Timeout | undefined;
  private rebalancePending = false;

  private constructor(private readonly opts: EngineOptions) {
    super();
    // Azureus-style peer id: client "DR" version 0.1.0.0, then 12 random bytes.
    this.peerId = Buffer.concat([Buffer.from('-DR0100-'), randomBytes(12)]).toString('hex');
    this.encryption = opts.encryption ?? 'enabled';
    this.log = opts.log;
    this.globalLimits = new GlobalLimits({
      upload: opts.uploadRateLimit ?? 0,
      download: opts.downloadRateLimit ?? 0,
    });
    this.resumeStore = opts.resumeDir ? new ResumeStore(opts.resumeDir) : undefined;
    this.pending = opts.resumeDir ? new PendingMagnets(opts.resumeDir) : undefined;
    this.listener = new PeerListener({
      peerId: this.peerId,
      admit: () => this.canConnect(),
      infohashes: () => this.torrents.keys(),
      encryption: this.encryption,
      route: (infohash) => {
        const t = this.torrents.get(infohash) ?? this.byTruncatedV2(infohash);
        if (!t?.acceptsIncoming()) return undefined;
        const infohashV2 = t.v2HandshakeHash();
        return {
          setup: (w) => t.setupWire(w),
          pieceCount: t.meta?.pieceCount,
          infohash: t.infohash,
          ...(infohashV2 ? { infohashV2 } : {}),
        };
      },
      accept: (h: Handshaken) => {
        const t = this.torrents.get(h.infohash);
        if (!t) {
          h.socket.destroy();
          return;
        }
        t.attach(h);
      },
    });
    this.listener.on('error', (err: Error) => this.log.error({ err: err.message }, 'peer listener error'));
    this.listener.on('refused', (r: { peer: string; reason: string }) =>
      this.log.debug(r, 'incoming encryption handshake failed'),
    );
  }

  /** Binds the listener and restores every torrent saved in the resume directory. */
  static async start(opts: EngineOptions): Promise<Engine> {
    const engine = new Engine(opts);
    try {
      engine.listenPort = await engine.listener.listen(opts.port, opts.host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') {
        throw new EngineError(
          'internal',
          `torrent.port ${opts.port} on ${opts.host} is already in use: another dream-torrent or BitTorrent client is running; stop it or set torrent.port`,
        );
      }
      throw err;
    }
    await engine.restore();
    engine.budgetTimer = setInterval(() => engine.rebalance(), BUDGET_INTERVAL_MS);
    engine.budgetTimer.unref();
    return engine;
  }

  /** The TCP port peers connect to. */
  get port(): number {
    return this.listenPort;
  }

  // ---- the API --------------------------------------------------------------------------------

  async add(input: AddInput, options: AddOptions = {}): Promise<TorrentSummary> {
    this.assertOpen();
    let meta: TorrentMeta | undefined;
    let infohash: string;
    let name: string | undefined;
    let infohashV2: string | undefined;
    let contentPath: string | undefined;
    let createdResume: ResumeData | undefined;
    let trackers: string[] = [];
    const peers = [...(options.peers ?? [])];
    if ('torrent' in input) {
      meta = wrapMetainfo('invalid-torrent', () => parseTorrent(input.torrent));
      infohash = meta.infohash;
      if (input.path !== undefined) {
        contentPath = path.resolve(input.path);
        try {
          await stat(contentPath);
        } catch {
          throw new EngineError('path-not-found', `${contentPath} does not exist or cannot be read`);
        }
        if (input.hashed) createdResume = seedInPlaceResume(meta, contentPath, input.hashed);
      } else if (input.hashed) {
        throw new EngineError('bad-request', 'hashed goes with torrent and path (seeding in place)');
      }
    } else if ('magnet' in input) {
      const m = wrapMetainfo('invalid-magnet', () => parseMagnet(input.magnet));
      infohash = m.infohash;
      infohashV2 = m.infohashV2;
      name = m.name;
      trackers = m.trackers;
      peers.push(...m.peers);
    } else if ('infohash' in input) {
      if (!/^([0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/.test(input.infohash)) {
        throw new EngineError('invalid-infohash', 'an infohash is 40 hexadecimal or 32 base32 characters');
      }
      infohash = wrapMetainfo('invalid-infohash', () => parseMagnet(input.infohash)).infohash;
    } else if ('path' in input) {
      const abs = path.resolve(input.path);
      try {
        await stat(abs);
      } catch {
        throw new EngineError('path-not-found', `${abs} does not exist or cannot be read`);
      }
      let created: Awaited<ReturnType<typeof createTorrent>>;
      try {
        created = await createTorrent(abs, input.name ? { name: input.name } : {});
      } catch (err) {
        if (err instanceof CreateError) {
          throw new EngineError(err.code === 'NOT_FOUND' ? 'path-not-found' : 'invalid-path', err.message);
        }
        throw err;
      }
      meta = created.meta;
      if (!meta.torrent) meta.torrent = created.torrent;
      infohash = meta.infohash;
      contentPath = abs;
      // Hashing just vouched for these files: the store need not hash them a second time.
      createdResume = created.resume;
    } else {
      throw new EngineError('bad-request', 'give one of torrent, magnet, infohash or path');
    }
    const existing = this.torrents.get(infohash);
    if (existing) {
      if (peers.length) existing.addPeers(peers, 'api');
      if (options.durationSeconds !== undefined) existing.durationSeconds = options.durationSeconds;
      throw new EngineError('already-added', `torrent ${infohash} is already in the engine`);
    }
    const t = this.create({
      infohash,
      ...(infohashV2 ? { infohashV2 } : {}),
      meta,
      name,
      root: this.opts.outputDir,
      contentPath,
      resume: createdResume,
      paused: options.paused,
      selected: options.selected,
      peers,
      trackers,
    });
    if (options.durationSeconds !== undefined) t.durationSeconds = options.durationSeconds;
    if (!meta) await this.savePending(t, { name, trackers, peers });
    await t.start();
    const s = t.summary();
    this.emit('added', s);
    return s;
  }

  list(): TorrentSummary[] {
    return [...this.torrents.values()].map((t) => t.summary());
  }

  /** The torrent object itself (for the streaming reader and tests); undefined when unknown. */
  torrent(infohash: string): Torrent | undefined {
    return this.torrents.get(infohash.toLowerCase());
  }

  detail(infohash: string): TorrentDetail {
    return this.get(infohash).detail();
  }

  /**
   * Selects the files at these paths (as the stream listing and the detail name them), and only
   * them. Clients know files by path; the indices count hybrid torrents' pad files, which the stream
   * listing leaves out, so the mapping is done here, once.
   */
  selectFilePaths(infohash: string, paths: string[]): TorrentDetail {
    const t = this.get(infohash);
    if (!t.meta)
      throw new EngineError('metadata-pending', 'the metadata is not known yet; try again once it is');
    const byPath = new Map(t.meta.files.filter((f) => !f.pad).map((f) => [f.path, f.index]));
    const indices = paths.map((p) => {
      const index = byPath.get(p);
      if (index === undefined)
        throw new EngineError(
          'invalid-selection',
          `the torrent has no file "${p}" (GET /api/torrents/${t.infohash} lists them)`,
        );
      return index;
    });
    return this.selectFiles(infohash, indices);
  }

  selectFiles(infohash: string, selection: number[] | 'all'): TorrentDetail {
    const t = this.get(infohash);
    if (!t.meta)
      throw new EngineError('metadata-pending', 'the metadata is not known yet; try again once it is');
    if (selection !== 'all') {
      const n = t.meta.files.length;
      for (const i of selection) {
        if (!Number.isInteger(i) || i < 0 || i >= n) {
          throw new EngineError('invalid-selection', `file index ${i} is outside 0..${n - 1}`);
        }
      }
    }
    t.setFileSelection(selection === 'all' ? 'all' : [...new Set(selection)].sort((a, b) => a - b));
    return t.detail();
  }

  async pause(infohash: string): Promise<TorrentSummary> {
    const t = this.get(infohash);
    await t.pause();
    if (this.pendingSaved.has(t.infohash)) await this.savePending(t);
    return t.summary();
  }

  async resume(infohash: string): Promise<TorrentSummary> {
    const t = this.get(infohash);
    await t.resume();
    if (this.pendingSaved.has(t.infohash)) await this.savePending(t);
    return t.summary();
  }

  async remove(infohash: string, opts: { deleteData?: boolean } = {}): Promise<void> {
    const t = this.get(infohash);
    this.torrents.delete(t.infohash);
    await t.stop();
    await this.resumeStore?.remove(t.infohash);
    this.pendingSaved.delete(t.infohash);
    await this.pending?.remove(t.infohash).catch(() => {});
    if (opts.deleteData && t.store) await t.store.deleteData();
    this.emit('removed', t.infohash);
  }

  addPeers(infohash: string, peers: PeerAddress[]): number {
    const t = this.get(infohash);
    for (const p of peers) {
      if (
        typeof p.host !== 'string' ||
        !p.host ||
        !Number.isInteger(p.port) ||
        p.port <= 0 ||
        p.port > 65535
      ) {
        throw new EngineError(
          'invalid-peer',
          `peer ${JSON.stringify(p)} is not {host, port} with a port 1..65535`,
        );
      }
    }
    return t.addPeers(peers, 'api');
  }

  /** The engine-wide rate limits, bytes/s (0 = unlimited). */
  limits(): RateLimits {
    return this.globalLimits.get();
  }

  /** Changes the engine-wide limits (absent keys stay); not persisted: the config holds the default. */
  setLimits(limits: Partial<RateLimits>): RateLimits {
    const bad = checkLimits(limits);
    if (bad) throw new EngineError('bad-request', bad);
    return this.globalLimits.set(limits);
  }

  /** One torrent's own limits (applied together with the engine-wide ones). */
  torrentLimits(infohash: string): RateLimits {
    return this.get(infohash).limits.get();
  }

  setTorrentLimits(infohash: string, limits: Partial<RateLimits>): RateLimits {
    const t = this.get(infohash);
    const bad = checkLimits(limits);
    if (bad) throw new EngineError('bad-request', bad);
    return t.setLimits(limits);
  }

  connectionCount(): number {
    return this.connections;
  }

  /** Stops every torrent (resume data flushed) and the listener. */
  async stop(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.budgetTimer);
    // The server's close completes only once its accepted sockets are gone: those belong to the
    // torrents, which close them as they stop.
    const closed = this.listener.close().catch(() => {});
    await Promise.all([...this.torrents.values()].map((t) => t.stop()));
    await closed;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Gives every torrent its share of the download budget (demands change as players read). */
  private rebalance(): void {
    if (this.closing) return;
    shareBandwidth(this.globalLimits.get().download, [...this.torrents.values()]);
  }

  /** A stream opened or closed: new shares now rather than at the next second. */
  private scheduleRebalance(): void {
    if (this.rebalancePending) return;
    this.rebalancePending = true;
    setImmediate(() => {
      this.rebalancePending = false;
      this.rebalance();
    });
  }

  private get(infohash: string): Torrent {
    const t = this.torrents.get(String(infohash).toLowerCase());
    if (!t) throw new EngineError('not-found', `no torrent ${infohash} in the engine`);
    return t;
  }

  private assertOpen(): void {
    if (this.closing) throw new EngineError('shutting-down', 'the engine is shutting down');
  }

  /** A hybrid torrent named by its truncated v2 info hash (a peer that found it through v2). */
  private byTruncatedV2(infohash: string): Torrent | undefined {
    for (const t of this.torrents.values()) if (t.v2HandshakeHash() === infohash) return t;
    return undefined;
  }

  canConnect(): boolean {
    return !this.closing && this.connections < this.opts.maxConnections;
  }

  private create(init: ConstructorParameters<typeof Torrent>[1]): Torrent {
    const host: TorrentHost = {
      peerId: this.peerId,
      encryption: this.encryption,
      port: () => this.listenPort,
      log: this.log,
      canConnect: () => this.canConnect(),
      connectionOpened: () => {
        this.connections++;
      },
      connectionClosed: () => {
        this.connections = Math.max(0, this.connections - 1);
      },
      saveResume: async (data) => {
        if (!this.resumeStore || !this.torrents.has(data.infohash)) return;
        await this.resumeStore.save(data);
        // The magnet now has real resume data: its pending record is no longer needed.
        if (this.pendingSaved.delete(data.infohash))
          await this.pending?.remove(data.infohash).catch(() => {});
      },
      sourcesFor: (t) => this.sourcesFor(t),
      limits: this.globalLimits,
      readersChanged: () => this.scheduleRebalance(),
    };
    const t = new Torrent(host, init);
    this.torrents.set(t.infohash, t);
    const ih = t.infohash;
    t.on('piece', (i: number) => this.emit('piece', ih, i));
    t.on('peer', (p: { address: string; incoming: boolean }) => this.emit('peer-connected', ih, p));
    t.on('ban', (b: { address: string; reason: string }) => this.emit('peer-banned', ih, b));
    t.on('hash-failure', (i: number) => this.emit('hash-failure', ih, i));
    t.on('metadata', () => this.emit('metadata', ih));
    t.on('done', () => this.emit('done', ih));
    t.on('error', () => {});
    return t;
  }

  /** Saves (or updates) the pending record of a magnet whose metadata is not known yet. */
  private async savePending(
    t: Torrent,
    extra?: { name?: string; trackers: string[]; peers: PeerAddress[] },
  ): Promise<void> {
    if (!this.pending || t.meta) return;
    const prev = extra ?? this.pendingInfo.get(t.infohash) ?? { trackers: [], peers: [] };
    this.pendingInfo.set(t.infohash, prev);
    this.pendingSaved.add(t.infohash);
    await this.pending
      .save({
        infohash: t.infohash,
        ...(prev.name !== undefined ? { name: prev.name } : {}),
        trackers: prev.trackers,
        peers: prev.peers.slice(0, 200),
        paused: t.paused,
        selected: t.selectedFiles,
        addedAt: t.addedAt,
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'cannot save pending magnet'));
  }

  private readonly pendingInfo = new Map<
    string,
    { name?: string; trackers: string[]; peers: PeerAddress[] }
  >();

  private sourcesFor(t: Torrent): PeerSource[] {
    const out: PeerSource[] = [];
    if (this.opts.trackers !== false) out.push(...trackerSources(t.trackerTiers()));
    if (this.opts.dht && !t.meta?.private) out.push(dhtSource(this.opts.dht));
    return out;
  }

  private async restore(): Promise<void> {
    if (!this.resumeStore) return;
    let saved: ResumeData[];
    try {
      saved = await this.resumeStore.list();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot list resume data');
      return;
    }
    for (const r of saved) {
      try {
        // The saved .torrent (or info dict), checked to hash to the infohash it is filed under.
        const meta = metaFromResume(r);
        const t = this.create({
          infohash: meta.infohash,
          meta,
          root: r.root,
          contentPath: r.contentPath,
          resume: r,
          selected: r.selected,
          paused: r.paused,
          addedAt: r.addedAt,
          ...(r.limits ? { limits: savedLimits(r.limits, meta.infohash, this.log) } : {}),
        });
        await t.start();
        this.log.info(
          { infohash: meta.infohash, name: meta.name, have: t.summary().havePieces },
          'torrent restored',
        );
      } catch (err) {
        this.log.error({ infohash: r.infohash, err: (err as Error).message }, 'cannot restore torrent');
      }
    }
    // Magnets still waiting for their metadata when we stopped.
    for (const m of (await this.pending?.list()) ?? []) {
      if (this.torrents.has(m.infohash)) {
        await this.pending?.remove(m.infohash).catch(() => {});
        continue;
      }
      const t = this.create({
        infohash: m.infohash,
        name: m.name,
        root: this.opts.outputDir,
        paused: m.paused,
        selected: m.selected,
        addedAt: m.addedAt,
        peers: m.peers,
        trackers: m.trackers,
      });
      this.pendingInfo.set(m.infohash, { name: m.name, trackers: m.trackers, peers: m.peers });
      this.pendingSaved.add(m.infohash);
      await t.start();
      this.log.info({ infohash: m.infohash }, 'magnet restored (metadata still to fetch)');
    }
  }
}

function wrapMetainfo<T>(code: 'invalid-torrent' | 'invalid-magnet' | 'invalid-infohash', fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MetainfoError) throw new EngineError(code, err.message);
    throw err;
  }
}

/**
 * A torrent's saved rate limits, checked as the API checks them: a hand-edited or damaged value
 * is dropped (unlimited, with a warning), never a reason to lose the torrent.
 */
function savedLimits(v: unknown, infohash: string, log: Logger): RateLimits | undefined {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const limits = { upload: o.upload, download: o.download } as RateLimits;
  const bad =
    typeof o.upload !== 'number' || typeof o.download !== 'number' ? 'not two numbers' : checkLimits(limits);
  if (!bad) return limits;
  log.warn({ infohash, limits: v, why: bad }, 'saved rate limits ignored');
  return undefined;
}
