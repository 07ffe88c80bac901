/**
 * One BEP 12 tier of trackers as a PeerSource. trackerSources() makes one per tier, so every tier
 * is announced to (what libtorrent's announce_to_all_tiers and most clients do today: torrents put
 * unrelated trackers in separate tiers, and waiting for tier 1 to fail first would hide their peers).
 * Within a tier: shuffled once, tried in order, the one that answers moves to the front.
 *
 * Timing: the next announce comes after the tracker's `interval` (clamped, see policy.ts); an early
 * one when the engine is short of peers, never sooner than the tracker's `min interval` or our floor;
 * after a tier-wide failure, exponential back-off. Each failing tracker is warned about once until it
 * works again. Nothing here throws into the event loop: every announce is awaited and caught.
 */
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse } from './announce.js';
import { hexToBytes } from './announce.js';
import { SourceError } from './errors.js';
import { httpAnnounce } from './http-tracker.js';
import { defaultPeerId, processKey } from './identity.js';
import {
  announceDelayMs,
  type BackoffPolicy,
  backoffDelayMs,
  DEFAULT_INTERVAL_BOUNDS,
  earlyAnnounceSpacingMs,
  type IntervalBounds,
  normalizeTiers,
  promote,
  shuffle,
} from './policy.js';
import type { PeerSource, PeerSourceContext } from './types.js';
import { udpAnnounce } from './udp-tracker.js';

export interface TrackerSourceOptions {
  /** Peers asked for per announce. 50 is BEP 3's default; more helps a streaming start. */
  numwant?: number;
  /** Deadline of one announce to one tracker (HTTP: whole request; UDP: all retransmissions). */
  announceTimeoutMs?: number;
  /** Deadline of the goodbye (event=stopped) in stop(): shutdown must not wait on a slow tracker. */
  stopTimeoutMs?: number;
  intervalBounds?: IntervalBounds;
  /** Floor between early announces (needMorePeers). */
  earlyAnnounceFloorMs?: number;
  /** Retry back-off after every tracker of the tier failed. */
  retry?: BackoffPolicy;
  /** BEP 15 retransmission timing (tests shorten it). */
  udp?: { baseTimeoutMs?: number; maxRetransmits?: number };
  /** HTTP response size cap. */
  maxResponseBytes?: number;
  random?: () => number;
}

const DEFAULTS = {
  numwant: 80,
  // 15 s x (1 + 2 + 4) for UDP with two retransmissions is 105 s; HTTP gets the same budget.
  announceTimeoutMs: 110_000,
  stopTimeoutMs: 2_000,
  earlyAnnounceFloorMs: 300_000,
  // First retry after 30 s, doubling to at most 30 min: a tracker down for maintenance is found
  // again within half an hour, a dead one costs one request per half hour.
  retry: { baseMs: 30_000, maxMs: 1_800_000 },
};

/** Sources for the announce-list tiers (unsupported URLs such as wss:// are left out). */
/**
 * Trackers currently warned about, process-wide: a dead tracker shared by 100 torrents gives one
 * warning, not 100. Cleared when it answers again (and that is logged once too).
 */
const warnedTrackers = new Set<string>();

export function trackerSources(tiers: string[][], opts: TrackerSourceOptions = {}): PeerSource[] {
  return normalizeTiers(tiers).map((tier) => new TrackerTierSource(tier, opts));
}

interface TrackerState {
  /** This tracker has acknowledged event=started (it must see that before any other announce). */
  started: boolean;
  completedSent: boolean;
  trackerId?: string;
  minIntervalSec?: number;
  /** We already warned about this tracker failing; quiet until it works again. */
  warned: boolean;
}

export class TrackerTierSource implements PeerSource {
  readonly name: string;
  private tier: string[];
  private readonly o: Required<Omit<TrackerSourceOptions, 'udp' | 'maxResponseBytes'>> &
    Pick<TrackerSourceOptions, 'udp' | 'maxResponseBytes'>;
  private readonly state = new Map<string, TrackerState>();
  private ctx: PeerSourceContext | undefined;
  private infohash: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private lastSuccessAt = Number.NEGATIVE_INFINITY;
  private lastTracker: string | undefined;
  private sawIncomplete = false;
  private wantMore = false;

  constructor(tier: string[], opts: TrackerSourceOptions = {}) {
    if (tier.length === 0) throw new TypeError('a tracker tier needs at least one URL');
    this.o = {
      numwant: opts.numwant ?? DEFAULTS.numwant,
      announceTimeoutMs: opts.announceTimeoutMs ?? DEFAULTS.announceTimeoutMs,
      stopTimeoutMs: opts.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs,
      intervalBounds: opts.intervalBounds ?? DEFAULT_INTERVAL_BOUNDS,
      earlyAnnounceFloorMs: opts.earlyAnnounceFloorMs ?? DEFAULTS.earlyAnnounceFloorMs,
      retry: opts.retry ?? DEFAULTS.retry,
      random: opts.random ?? Math.random,
      udp: opts.udp,
      maxResponseBytes: opts.maxResponseBytes,
    };
    this.tier = shuffle(tier, this.o.random);
    this.name = tier.length === 1 ? `tracker ${tier[0]}` : `tracker ${tier[0]} (+${tier.length - 1})`;
    for (const url of tier) this.state.set(url, { started: false, completedSent: false, warned: false });
  }

  /** The tier in its current order (working tracker first). */
  get trackers(): readonly string[] {
    return this.tier;
  }

  start(ctx: PeerSourceContext): void {
    if (this.ctx) return;
    this.ctx = ctx;
    try {
      this.infohash = hexToBytes(ctx.infohash);
    } catch (err) {
      ctx.log.error({ source: this.name }, `tracker source not started: ${(err as Error).message}`);
      return;
    }
    if (ctx.peerId !== undefined && ctx.peerId.length !== 20) {
      ctx.log.error(
        { source: this.name },
        `tracker source not started: peer id of ${ctx.peerId.length} bytes, not 20`,
      );
      return;
    }
    this.schedule(0);
  }

  needMorePeers(): void {
    if (!this.ctx || this.stopped || this.failures > 0) return; // back-off is for the tracker's sake
    if (this.running) {
      this.wantMore = true; // applied when the running announce has scheduled the next one
      return;
    }
    const at = this.lastSuccessAt + this.earlySpacingMs();
    if (at < this.nextAt) this.schedule(at - Date.now());
  }

  private earlySpacingMs(): number {
    const st = this.lastTracker ? this.state.get(this.lastTracker) : undefined;
    return earlyAnnounceSpacingMs(st?.minIntervalSec, this.o.earlyAnnounceFloorMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    await this.running?.catch(() => {});
    const ctx = this.ctx;
    const url = this.lastTracker;
    if (!ctx || !this.infohash || !url || !this.state.get(url)?.started) return;
    // Best effort goodbye so the tracker stops handing out our address; a short deadline, errors ignored.
    try {
      await this.announceTo(url, 'stopped', { timeoutMs: this.o.stopTimeoutMs, retransmits: 0 });
    } catch (err) {
      ctx.log.debug(
        { source: this.name, tracker: url },
        `event=stopped not delivered: ${(err as Error).message}`,
      );
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    const d = Math.max(0, delayMs);
    this.nextAt = Date.now() + d;
    this.timer = setTimeout(() => {
      this.running = this.announceRound().finally(() => {
        this.running = undefined;
      });
    }, d);
    this.timer.unref?.();
  }

  /** Tries the tier's trackers in order until one answers; then schedules the next round. */
  private async announceRound(): Promise<void> {
    const ctx = this.ctx!;
    let lastErr: unknown;
    for (const url of [...this.tier]) {
      if (this.stopped) return;
      const st = this.state.get(url)!;
      try {
        const left = ctx.stats().left;
        const event: AnnounceEvent | undefined = !st.started
          ? 'started'
          : left === 0 && this.sawIncomplete && !st.completedSent
            ? 'completed'
            : undefined;
        const res = await this.announceTo(url, event, { timeoutMs: this.o.announceTimeoutMs });
        if (this.stopped) return;
        if (left > 0) this.sawIncomplete = true;
        st.started = true;
        if (event === 'completed' || left === 0) st.completedSent = true;
        this.succeeded(url, st, res);
        return;
      } catch (err) {
        if (this.stopped) return;
        lastErr = err;
        this.failed(url, st, err);
      }
    }
    this.failures++;
    const delay = backoffDelayMs(this.failures, this.o.retry, this.o.random);
    ctx.log.debug(
      { source: this.name, failures: this.failures, retryInMs: delay },
      `no tracker of the tier answered (${(lastErr as Error)?.message}); retrying later`,
    );
    this.schedule(delay);
  }

  private succeeded(url: string, st: TrackerState, res: AnnounceResponse): void {
    const ctx = this.ctx!;
    if (st.warned && warnedTrackers.delete(url)) {
      ctx.log.info({ source: this.name, tracker: url }, `tracker ${url} answers again`);
    }
    st.warned = false;
    if (res.trackerId !== undefined) st.trackerId = res.trackerId;
    st.minIntervalSec = res.minInterval;
    if (res.warning)
      ctx.log.warn({ source: this.name, tracker: url }, `tracker ${url} warns: ${res.warning}`);
    this.tier = promote(this.tier, url);
    this.lastTracker = url;
    this.failures = 0;
    this.lastSuccessAt = Date.now();
    ctx.log.debug(
      { source: this.name, tracker: url, peers: res.peers.length, interval: res.interval },
      'tracker announce done',
    );
    if (res.peers.length > 0) ctx.onPeers(res.peers, `tracker ${url}`);
    let delay = announceDelayMs(res.interval, this.o.intervalBounds);
    if (this.wantMore) delay = Math.min(delay, this.earlySpacingMs());
    this.wantMore = false;
    this.schedule(delay);
  }

  private failed(url: string, st: TrackerState, err: unknown): void {
    const ctx = this.ctx!;
    const code = err instanceof SourceError ? err.code : 'UNEXPECTED';
    const msg = `tracker ${url} failed: ${(err as Error)?.message ?? String(err)}`;
    if (!st.warned && !warnedTrackers.has(url)) {
      st.warned = true;
      warnedTrackers.add(url);
      ctx.log.warn({ source: this.name, tracker: url, code }, `${msg}; retrying with back-off`);
    } else {
      st.warned = true;
      ctx.log.debug({ source: this.name, tracker: url, code }, msg);
    }
  }

  private async announceTo(
    url: string,
    event: AnnounceEvent | undefined,
    limits: { timeoutMs: number; retransmits?: number },
  ): Promise<AnnounceResponse> {
    const ctx = this.ctx!;
    const stats = ctx.stats();
    const st = this.state.get(url)!;
    const req: AnnounceRequest = {
      infohash: this.infohash!,
      peerId: ctx.peerId ?? defaultPeerId(),
      port: ctx.port,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      left: stats.left,
      numwant: event === 'stopped' ? 0 : this.o.numwant,
      key: processKey,
    };
    if (event) req.event = event;
    if (st.trackerId !== undefined) req.trackerId = st.trackerId;
    const abort = new AbortController();
    if (event !== 'stopped') this.abort = abort;
    if (url.startsWith('udp:')) {
      return udpAnnounce(url, req, {
        timeoutMs: limits.timeoutMs,
        signal: abort.signal,
        baseTimeoutMs: this.o.udp?.baseTimeoutMs ?? 15_000,
        maxRetransmits: limits.retransmits ?? this.o.udp?.maxRetransmits ?? 2,
      });
    }
    const httpOpts: { timeoutMs: number; signal: AbortSignal; maxResponseBytes?: number } = {
      timeoutMs: limits.timeoutMs,
      signal: abort.signal,
    };
    if (this.o.maxResponseBytes !== undefined) httpOpts.maxResponseBytes = this.o.maxResponseBytes;
    return httpAnnounce(url, req, httpOpts);
  }
}
