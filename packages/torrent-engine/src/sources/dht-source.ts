/**
 * The dream-dht daemon as a PeerSource: announce our port on start, look up peers at once and
 * stream each one to the engine as the lookup finds it, look again on a schedule, unannounce on stop.
 *
 * Schedule (why these numbers):
 * - A regular re-lookup every 5 minutes: peers announce to the DHT every ~15-30 min, so a lookup
 *   every 5 min sees newcomers quickly at a cost of one lookup (a few dozen small UDP queries).
 * - While the engine is short of peers (needMorePeers), sooner, but never less than 1 minute after
 *   the previous lookup started: a lookup takes seconds to tens of seconds and visits the same
 *   closest nodes; back-to-back lookups would mostly return what we just got, and hammer them.
 * - A re-announce every 30 minutes: the daemon keeps its own announce set, but a daemon restart would
 *   lose it; announcing again is idempotent and cheap.
 * - A daemon that does not answer (not started yet, restarting) is retried with back-off and warned
 *   about once until it answers again.
 */
import { type BackoffPolicy, backoffDelayMs } from './policy.js';
import type { DhtLike, PeerSource, PeerSourceContext } from './types.js';

export interface DhtSourceOptions {
  relookupMs?: number;
  /** Minimum time between the starts of two lookups, even when the engine wants more peers. */
  minLookupSpacingMs?: number;
  /** Passed to findPeers: a lookup that has not finished by then is ended. */
  lookupTimeoutMs?: number;
  reannounceMs?: number;
  /** Back-off when the daemon fails (announce or lookup). */
  retry?: BackoffPolicy;
  /** Deadline of unannounce in stop(). */
  stopTimeoutMs?: number;
  random?: () => number;
}

const DEFAULTS = {
  relookupMs: 300_000,
  minLookupSpacingMs: 60_000,
  lookupTimeoutMs: 60_000,
  reannounceMs: 1_800_000,
  retry: { baseMs: 5_000, maxMs: 300_000 },
  stopTimeoutMs: 2_000,
};

export function dhtSource(client: DhtLike, opts: DhtSourceOptions = {}): PeerSource {
  return new DhtSource(client, opts);
}

export class DhtSource implements PeerSource {
  readonly name = 'dht';
  private readonly o: Required<DhtSourceOptions>;
  private ctx: PeerSourceContext | undefined;
  private stopped = false;
  private lookupTimer: NodeJS.Timeout | undefined;
  private announceTimer: NodeJS.Timeout | undefined;
  private lookupAbort: AbortController | undefined;
  private lookup: Promise<void> | undefined;
  private lookupNextAt = 0;
  private lastLookupStart = Number.NEGATIVE_INFINITY;
  private wantMore = false;
  private lookupFailures = 0;
  private announceFailures = 0;
  private warned = false;
  private announced = false;

  constructor(
    private readonly client: DhtLike,
    opts: DhtSourceOptions = {},
  ) {
    this.o = {
      relookupMs: opts.relookupMs ?? DEFAULTS.relookupMs,
      minLookupSpacingMs: opts.minLookupSpacingMs ?? DEFAULTS.minLookupSpacingMs,
      lookupTimeoutMs: opts.lookupTimeoutMs ?? DEFAULTS.lookupTimeoutMs,
      reannounceMs: opts.reannounceMs ?? DEFAULTS.reannounceMs,
      retry: opts.retry ?? DEFAULTS.retry,
      stopTimeoutMs: opts.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs,
      random: opts.random ?? Math.random,
    };
  }

  start(ctx: PeerSourceContext): void {
    if (this.ctx) return;
    this.ctx = ctx;
    this.scheduleAnnounce(0);
    this.scheduleLookup(0);
  }

  needMorePeers(): void {
    if (!this.ctx || this.stopped) return;
    this.wantMore = true;
    if (this.lookup || this.lookupFailures > 0) return; // the running lookup / the back-off decides
    const at = Math.max(Date.now(), this.lastLookupStart + this.o.minLookupSpacingMs);
    if (at < this.lookupNextAt) this.scheduleLookup(at - Date.now());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.lookupTimer);
    clearTimeout(this.announceTimer);
    this.lookupAbort?.abort();
    await this.lookup?.catch(() => {});
    if (!this.ctx || !this.announced) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.unannounce(this.ctx.infohash),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.o.stopTimeoutMs} ms`)),
            this.o.stopTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.ctx.log.debug({ source: this.name }, `DHT unannounce not delivered: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private scheduleLookup(delayMs: number): void {
    clearTimeout(this.lookupTimer);
    const d = Math.max(0, delayMs);
    this.lookupNextAt = Date.now() + d;
    this.lookupTimer = setTimeout(() => {
      this.lookup = this.runLookup().finally(() => {
        this.lookup = undefined;
      });
    }, d);
    this.lookupTimer.unref?.();
  }

  private scheduleAnnounce(delayMs: number): void {
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => void this.runAnnounce(), Math.max(0, delayMs));
    this.announceTimer.unref?.();
  }

  private async runLookup(): Promise<void> {
    const ctx = this.ctx!;
    this.lastLookupStart = Date.now();
    this.wantMore = false;
    const abort = new AbortController();
    this.lookupAbort = abort;
    let found = 0;
    try {
      for await (const peer of this.client.findPeers(ctx.infohash, {
        signal: abort.signal,
        timeoutMs: this.o.lookupTimeoutMs,
      })) {
        if (this.stopped) break;
        found++;
        ctx.onPeers([{ host: peer.host, port: peer.port }], this.name);
      }
      this.lookupFailures = 0;
      this.recovered();
      ctx.log.debug({ source: this.name, peers: found }, 'DHT lookup done');
    } catch (err) {
      if (this.stopped) return;
      this.lookupFailures++;
      this.warn(`DHT lookup failed: ${(err as Error)?.message ?? String(err)}`);
      this.scheduleLookup(backoffDelayMs(this.lookupFailures, this.o.retry, this.o.random));
      return;
    }
    if (this.stopped) return;
    // wantMore may have been set while this lookup ran: then the short spacing applies.
    const spacing = this.wantMore ? this.o.minLookupSpacingMs : this.o.relookupMs;
    this.scheduleLookup(this.lastLookupStart + spacing - Date.now());
  }

  private async runAnnounce(): Promise<void> {
    const ctx = this.ctx!;
    try {
      await this.client.announce(ctx.infohash, ctx.port);
      if (this.stopped) return;
      this.announced = true;
      this.announceFailures = 0;
      this.recovered();
      this.scheduleAnnounce(this.o.reannounceMs);
    } catch (err) {
      if (this.stopped) return;
      this.announceFailures++;
      this.warn(`DHT announce failed: ${(err as Error)?.message ?? String(err)}`);
      this.scheduleAnnounce(backoffDelayMs(this.announceFailures, this.o.retry, this.o.random));
    }
  }

  private warn(msg: string): void {
    if (!this.warned) {
      this.warned = true;
      this.ctx!.log.warn({ source: this.name }, `${msg}; retrying with back-off`);
    } else {
      this.ctx!.log.debug({ source: this.name }, msg);
    }
  }

  private recovered(): void {
    if (this.warned && this.lookupFailures === 0 && this.announceFailures === 0) {
      this.warned = false;
      this.ctx!.log.info({ source: this.name }, 'DHT daemon answers again');
    }
  }
}
