import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfigText } from '@dream/config';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '@dream/dht';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DhtSourceOptions, dhtSource } from '../src/sources/dht-source.js';
import type { DhtLike, PeerAddress, PeerSourceContext } from '../src/sources/types.js';
import { captureLog, waitFor } from './sources-tracker-server.js';

const INFOHASH = 'c9e15763f722f23e98a29decdfae341b98d53056';

/** A DHT client the test drives: each lookup yields what the test pushes, until the test ends it. */
class FakeDht implements DhtLike {
  lookups: {
    signal?: AbortSignal;
    timeoutMs?: number;
    startedAt: number;
    push(p: PeerAddress): void;
    end(err?: Error): void;
  }[] = [];
  announces: [string, number][] = [];
  unannounces: string[] = [];
  failAnnounces = 0;
  failLookups = 0;
  hangUnannounce = false;
  /** When set, every lookup yields these peers and ends by itself. */
  autoPeers: PeerAddress[] | undefined;

  async *findPeers(
    _infohash: string,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): AsyncIterable<PeerAddress> {
    if (this.failLookups > 0) {
      this.failLookups--;
      this.lookups.push({ ...opts, startedAt: Date.now(), push() {}, end() {} });
      throw new Error('connect ECONNREFUSED 127.0.0.1:6882');
    }
    const queue: PeerAddress[] = [...(this.autoPeers ?? [])];
    let ended: { err?: Error } | undefined = this.autoPeers ? {} : undefined;
    let wake: (() => void) | undefined;
    const poke = () => {
      wake?.();
      wake = undefined;
    };
    this.lookups.push({
      ...opts,
      startedAt: Date.now(),
      push: (p) => {
        queue.push(p);
        poke();
      },
      end: (err) => {
        ended = { err };
        poke();
      },
    });
    opts.signal?.addEventListener('abort', () => {
      ended = {};
      poke();
    });
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (ended) {
        if (ended.err) throw ended.err;
        return;
      }
      await new Promise<void>((r) => (wake = r));
    }
  }
  async announce(infohash: string, port: number) {
    this.announces.push([infohash, port]);
    if (this.failAnnounces > 0) {
      this.failAnnounces--;
      throw new Error('dream-dht unreachable');
    }
  }
  async unannounce(infohash: string) {
    this.unannounces.push(infohash);
    if (this.hangUnannounce) await new Promise(() => {});
  }
}

function context(log = captureLog()) {
  const found: { peers: PeerAddress[]; source: string; at: number }[] = [];
  const ctx: PeerSourceContext = {
    infohash: INFOHASH,
    port: 6881,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeers: (peers, source) => found.push({ peers, source, at: Date.now() }),
    log: log.log,
  };
  return { ctx, found, log };
}

const fast: DhtSourceOptions = {
  relookupMs: 3_600_000,
  minLookupSpacingMs: 0,
  lookupTimeoutMs: 5_000,
  retry: { baseMs: 20, maxMs: 80 },
  stopTimeoutMs: 300,
};

describe('dhtSource with a fake client', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('announces our port and streams each peer as the lookup finds it', async () => {
    const dht = new FakeDht();
    const { ctx, found } = context();
    const source = dhtSource(dht, fast);
    stops.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => dht.lookups[0]);
    expect(dht.announces).toEqual([[INFOHASH, 6881]]);
    expect(dht.lookups[0]!.timeoutMs).toBe(5_000);
    dht.lookups[0]!.push({ host: '10.0.0.1', port: 1 });
    await waitFor(() => found.length === 1);
    expect(found[0]).toMatchObject({ peers: [{ host: '10.0.0.1', port: 1 }], source: 'dht' });
    dht.lookups[0]!.push({ host: '10.0.0.2', port: 2 });
    await waitFor(() => found.length === 2); // the lookup is still open: streaming, not batched
    dht.lookups[0]!.end();
  });

  it('looks up again on its schedule', async () => {
    const dht = new FakeDht();
    dht.autoPeers = [{ host: '10.0.0.1', port: 1 }];
    const { ctx } = context();
    const source = dhtSource(dht, { ...fast, relookupMs: 30 });
    stops.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => dht.lookups.length >= 3);
  });

  it('needMorePeers brings the next lookup forward, but not before the minimum spacing', async () => {
    const dht = new FakeDht();
    dht.autoPeers = [];
    const { ctx } = context();
    const source = dhtSource(dht, { ...fast, minLookupSpacingMs: 300 });
    stops.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => dht.lookups.length === 1);
    source.needMorePeers(); // the regular re-lookup is an hour away
    await waitFor(() => dht.lookups.length === 2);
    const gap = dht.lookups[1]!.startedAt - dht.lookups[0]!.startedAt;
    expect(gap).toBeGreaterThanOrEqual(290); // a lower bound (timers never fire much early)
  });

  it('retries a failing daemon with back-off, warns once, and says when it is back', async () => {
    const dht = new FakeDht();
    dht.failAnnounces = 3;
    dht.failLookups = 3;
    dht.autoPeers = [{ host: '10.0.0.3', port: 3 }];
    const { ctx, found, log } = context();
    const source = dhtSource(dht, fast);
    stops.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => found.length > 0);
    await waitFor(() => dht.announces.length >= 4);
    const warnings = log.warnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^DHT (announce|lookup) failed: .*; retrying with back-off$/);
    await waitFor(() => log.lines.some((l) => l.msg === 'DHT daemon answers again'));
  });

  it('stop() aborts the lookup and unannounces, without waiting long on a hung daemon', async () => {
    const dht = new FakeDht();
    dht.hangUnannounce = true;
    const { ctx } = context();
    const source = dhtSource(dht, fast);
    source.start(ctx);
    await waitFor(() => dht.lookups[0]);
    await waitFor(() => dht.announces.length === 1);
    await new Promise((r) => setImmediate(r)); // let the announce resolution be recorded
    await source.stop();
    expect(dht.lookups[0]!.signal?.aborted).toBe(true);
    expect(dht.unannounces).toEqual([INFOHASH]);
  });
});

describe('dhtSource with real dream-dht daemons on loopback', () => {
  const dirs: string[] = [];
  const daemons: DhtDaemon[] = [];
  let a: DhtClient;
  let b: DhtClient;
  const silent = createLogger({ name: 'test', level: 'silent' });
  const config = (bootstrap: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'dream-sources-dht-'));
    dirs.push(dir);
    const text = [
      '[general]',
      `state_dir = ${JSON.stringify(dir)}`,
      `output_dir = ${JSON.stringify(dir)}`,
      '[network]',
      `bootstrap_nodes = ${JSON.stringify(bootstrap)}`,
      'private = true',
      '[dht]',
      'host = "127.0.0.1"',
      'port = 0',
      'api_port = 0',
      '',
    ].join('\n');
    return loadConfigText(text, join(dir, 'config.toml'), {}).config;
  };

  beforeAll(async () => {
    const d0 = await startDhtDaemon(config([]), silent, { announceRetryMs: 200 });
    daemons.push(d0);
    for (let i = 0; i < 2; i++) {
      daemons.push(
        await startDhtDaemon(config([`127.0.0.1:${d0.udpPort}`]), silent, { announceRetryMs: 200 }),
      );
    }
    a = new DhtClient({ apiUrl: `http://127.0.0.1:${daemons[1]!.apiPort}` });
    b = new DhtClient({ apiUrl: `http://127.0.0.1:${daemons[2]!.apiPort}` });
    for (let i = 0; i < 200; i++) {
      if ((await a.status()).bootstrapped && (await b.status()).bootstrapped) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('one torrent announces through its daemon, another finds it through a different daemon', async () => {
    const seeder = context();
    const leecher = context();
    const announcing = dhtSource(a, fast);
    // Re-look every 200 ms until the announce has propagated.
    const looking = dhtSource(b, { ...fast, relookupMs: 200, lookupTimeoutMs: 3_000 });
    announcing.start({ ...seeder.ctx, port: 7101 });
    looking.start({ ...leecher.ctx, port: 7102 });
    try {
      await waitFor(() => leecher.found.some((f) => f.peers.some((p) => p.port === 7101)), 40_000);
      expect(leecher.found.find((f) => f.peers.some((p) => p.port === 7101))).toMatchObject({
        peers: [{ host: '127.0.0.1', port: 7101 }],
        source: 'dht',
      });
      expect((await a.status()).announced).toBe(1);
    } finally {
      await announcing.stop();
      await looking.stop();
    }
    expect((await a.status()).announced).toBe(0); // unannounced on stop
    expect(seeder.log.warnings()).toEqual([]);
  });
});
