import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '../src/index.js';
import { createDhtNode, type DhtNode } from '../src/node.js';
import { loadState, parseState, STATE_FILE, saveState } from '../src/state.js';
import { collect, eventually, randomInfohash, silentLog, tempDir, testConfig } from './helpers.js';

describe('a daemon restarted from its saved table', () => {
  const dir = tempDir();
  const bootDir = tempDir();
  const nodes: DhtNode[] = [];
  const daemons: DhtDaemon[] = [];

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.close()));
    await Promise.all(nodes.map((n) => n.destroy()));
    dir.remove();
    bootDir.remove();
  });

  it('rejoins and finds peers with the bootstrap node gone, keeping its node id', async () => {
    const boot = await startDhtDaemon(testConfig({ stateDir: bootDir.path, bootstrap: [] }), silentLog);
    daemons.push(boot);
    const bootList = [`127.0.0.1:${boot.udpPort}`];
    for (let i = 0; i < 8; i++) {
      const n = await createDhtNode({
        host: '127.0.0.1',
        port: 0,
        bootstrap: [{ host: '127.0.0.1', port: boot.udpPort }],
        maxStoredPeers: 1000,
        peerTtlMs: 60_000,
      });
      nodes.push(n);
      await n.bootstrapped;
    }
    const config = testConfig({ stateDir: dir.path, bootstrap: bootList });
    const d1 = await startDhtDaemon(config, silentLog);
    daemons.push(d1);
    const c1 = new DhtClient({ apiUrl: `http://127.0.0.1:${d1.apiPort}` });
    await eventually(async () => (await c1.status()).tableSize >= 8);
    const { nodeId } = await c1.status();
    await d1.close();

    const saved = loadState(join(dir.path, STATE_FILE));
    expect(saved.kind).toBe('ok');
    if (saved.kind !== 'ok') return;
    expect(saved.state.nodeId.toString('hex')).toBe(nodeId);
    expect(saved.state.nodes.length).toBeGreaterThanOrEqual(8);

    // The bootstrap node goes away for good; a peer is announced by one of the remaining nodes.
    await boot.close();
    const ih = randomInfohash();
    await new Promise<void>((resolve, reject) =>
      nodes[3]!.dht.announce(Buffer.from(ih, 'hex'), 7100, (err) => (err ? reject(err) : resolve())),
    );

    const d2 = await startDhtDaemon(config, silentLog);
    daemons.push(d2);
    const c2 = new DhtClient({ apiUrl: `http://127.0.0.1:${d2.apiPort}` });
    const s = await eventually(async () => {
      const st = await c2.status();
      return st.bootstrapped ? st : undefined;
    });
    expect(s.nodeId).toBe(nodeId);
    const peers = await eventually(async () => {
      const found = await collect(c2.findPeers(ih, { timeoutMs: 8_000 }));
      return found.length ? found : undefined;
    });
    expect(peers).toContainEqual({ host: '127.0.0.1', port: 7100 });
    expect((await c2.status()).tableSize).toBeGreaterThanOrEqual(5);
  });
});

describe('state file', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('round-trips and is replaced atomically (no temp file left)', () => {
    const path = join(dir.path, 'sub', STATE_FILE);
    const state = {
      nodeId: Buffer.alloc(20, 7),
      nodes: [{ id: Buffer.alloc(20, 1), host: '10.0.0.1', port: 6881 }],
    };
    saveState(path, state);
    saveState(path, state);
    const back = loadState(path);
    expect(back).toEqual({ kind: 'ok', state });
    expect(readFileSync(path, 'utf8')).toContain('"version": 1');
  });

  it('sets a corrupt file aside and starts fresh', () => {
    const path = join(dir.path, STATE_FILE);
    writeFileSync(path, '{"version": 1, "nodeId": "xyz"');
    const r = loadState(path);
    expect(r.kind).toBe('corrupt');
    if (r.kind === 'corrupt') expect(r.movedTo).toMatch(/corrupt-/);
    expect(loadState(path).kind).toBe('missing');
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['wrong version', '{"version":2}', /version 2/],
    ['bad node id', '{"version":1,"nodeId":"12","nodes":[]}', /40 hex/],
    ['nodes not a list', `{"version":1,"nodeId":"${'a'.repeat(40)}","nodes":{}}`, /not a list/],
  ])('refuses %s', (_name, text, message) => {
    expect(parseState(text)).toMatch(message);
  });

  it('skips bad entries but keeps good ones', () => {
    const s = parseState(
      JSON.stringify({
        version: 1,
        nodeId: 'a'.repeat(40),
        nodes: [
          { id: 'b'.repeat(40), host: '1.2.3.4', port: 1 },
          { id: 'b'.repeat(40), host: 'evil.example', port: 1 },
          { id: 'short', host: '1.2.3.4', port: 1 },
          { id: 'c'.repeat(40), host: '1.2.3.4', port: 70000 },
        ],
      }),
    );
    expect(typeof s).toBe('object');
    if (typeof s === 'object') expect(s.nodes).toHaveLength(1);
  });
});
