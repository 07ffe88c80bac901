import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '../src/index.js';
import { createDhtNode, type DhtNode, findPeersOnce } from '../src/node.js';
import { collect, randomInfohash, silentLog, tempDir, testConfig } from './helpers.js';

/** 48 in-process nodes plus 2 daemons: 50 nodes on loopback UDP. */
const IN_PROCESS = 48;

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

describe('a 50-node network on loopback', () => {
  const nodes: DhtNode[] = [];
  const daemons: DhtDaemon[] = [];
  const dirs: Array<{ remove(): void }> = [];
  let announcer: DhtClient;
  let seeker: DhtClient;

  beforeAll(async () => {
    const boot = await createDhtNode({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [],
      maxStoredPeers: 1000,
      peerTtlMs: 600_000,
    });
    nodes.push(boot);
    const via = [{ host: '127.0.0.1', port: boot.port }];
    const rest = await inBatches(Array.from({ length: IN_PROCESS - 1 }), 8, async () => {
      const n = await createDhtNode({
        host: '127.0.0.1',
        port: 0,
        bootstrap: via,
        maxStoredPeers: 1000,
        peerTtlMs: 600_000,
      });
      nodes.push(n);
      await n.bootstrapped;
      return n;
    });
    expect(rest).toHaveLength(IN_PROCESS - 1);
    for (let i = 0; i < 2; i++) {
      const dir = tempDir();
      dirs.push(dir);
      const d = await startDhtDaemon(
        testConfig({ stateDir: dir.path, bootstrap: [`127.0.0.1:${boot.port}`] }),
        silentLog,
      );
      daemons.push(d);
    }
    announcer = new DhtClient({ apiUrl: `http://127.0.0.1:${daemons[0]!.apiPort}` });
    seeker = new DhtClient({ apiUrl: `http://127.0.0.1:${daemons[1]!.apiPort}` });
    // Joining is a lookup of one's own id; let the early nodes learn of the later ones too.
    await inBatches(nodes, 8, (n) => findPeersOnce(n.dht, n.nodeId));
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.close()));
    await Promise.all(nodes.map((n) => n.destroy()));
    for (const d of dirs) d.remove();
  });

  it('an infohash announced on one node is found from every other node', async () => {
    const ih = randomInfohash();
    await announcer.announce(ih, 6999);
    // The announce is asynchronous in the daemon: wait for it to be stored somewhere.
    const stored = async () => nodes.reduce((n, x) => n + x.peers.get(ih).length, 0);
    const start = Date.now();
    while ((await stored()) < 3 && Date.now() - start < 30_000) await new Promise((r) => setTimeout(r, 100));
    expect(await stored()).toBeGreaterThanOrEqual(3);

    // A lookup whose queries all time out (2 s each) on a loaded machine is retried, as a client
    // would; a node that still cannot find the peer after three lookups fails the test.
    const finds = async (n: DhtNode) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const found = await findPeersOnce(n.dht, Buffer.from(ih, 'hex'));
        if (found.some((p) => p.host === '127.0.0.1' && p.port === 6999)) return true;
      }
      return false;
    };
    const results = await inBatches(nodes, 8, finds);
    const missing = results.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0);
    expect(missing, `nodes that did not find the peer: ${missing.join(', ')}`).toEqual([]);
    const viaDaemon = await collect(seeker.findPeers(ih, { timeoutMs: 10_000 }));
    expect(viaDaemon).toContainEqual({ host: '127.0.0.1', port: 6999 });
  });

  it('routing tables are populated', async () => {
    const sizes = nodes.map((n) => n.dht.nodes.count());
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(8);
    const status = await seeker.status();
    expect(status.tableSize).toBeGreaterThanOrEqual(8);
    expect(status.goodNodes).toBeGreaterThan(0);
  });
});
