import { afterAll, describe, expect, it } from 'vitest';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '../src/index.js';
import { createDhtNode, type DhtNode } from '../src/node.js';
import { eventually, randomInfohash, silentLog, tempDir, testConfig } from './helpers.js';

describe('re-announce and expiry on a live network', () => {
  const dir = tempDir();
  const nodes: DhtNode[] = [];
  let daemon: DhtDaemon | undefined;

  afterAll(async () => {
    await daemon?.close();
    await Promise.all(nodes.map((n) => n.destroy()));
    dir.remove();
  });

  it('keeps a registered peer alive past the storers’ TTL, and lets it expire once unregistered', async () => {
    const TTL = 1_500;
    const opts = { host: '127.0.0.1', port: 0, maxStoredPeers: 1000, peerTtlMs: TTL };
    const first = await createDhtNode({ ...opts, bootstrap: [] });
    nodes.push(first);
    for (let i = 0; i < 4; i++) {
      const n = await createDhtNode({ ...opts, bootstrap: [{ host: '127.0.0.1', port: first.port }] });
      nodes.push(n);
      await n.bootstrapped;
    }
    daemon = await startDhtDaemon(
      testConfig({ stateDir: dir.path, bootstrap: [`127.0.0.1:${first.port}`] }),
      silentLog,
      { reannounceIntervalMs: 300, announceRetryMs: 100 },
    );
    const client = new DhtClient({ apiUrl: `http://127.0.0.1:${daemon.apiPort}` });
    await eventually(async () => (await client.status()).bootstrapped);

    const ih = randomInfohash();
    let firstAt: number | undefined;
    let announces = 0;
    const onAnnounce = (_peer: unknown, infohash: Buffer) => {
      if (infohash.toString('hex') !== ih) return;
      firstAt ??= Date.now();
      announces++;
    };
    for (const n of nodes) n.dht.on('announce', onAnnounce);
    await client.announce(ih, 7400);

    // Wait (on announces received, not on a clock) until the first announce is older than the TTL.
    await eventually(() => firstAt !== undefined && Date.now() - firstAt > 2 * TTL, 30_000, 50);
    expect(announces).toBeGreaterThan(nodes.length); // more than one round reached the storers
    const holding = nodes.filter((n) => n.peers.get(ih).length > 0);
    expect(holding.length).toBeGreaterThan(0);
    expect(holding[0]!.peers.get(ih)[0]!.readUInt16BE(4)).toBe(7400);

    await client.unannounce(ih);
    await eventually(() => nodes.every((n) => n.peers.get(ih).length === 0), 30_000, 100);
  });
});
