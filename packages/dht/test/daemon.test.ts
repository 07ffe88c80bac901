import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhtApiError, DhtClient, type DhtDaemon, startDhtDaemon } from '../src/index.js';
import { collect, eventually, randomInfohash, silentLog, tempDir, testConfig } from './helpers.js';

describe('three daemons on loopback', () => {
  const dirs: Array<{ remove(): void }> = [];
  const daemons: DhtDaemon[] = [];
  let first: DhtClient;
  let a: DhtClient;
  let b: DhtClient;

  beforeAll(async () => {
    const start = async (bootstrap: string[]) => {
      const dir = tempDir();
      dirs.push(dir);
      const d = await startDhtDaemon(testConfig({ stateDir: dir.path, bootstrap }), silentLog, {
        announceRetryMs: 200,
      });
      daemons.push(d);
      return d;
    };
    // The first node of a brand-new network: an empty bootstrap list.
    const d0 = await start([]);
    const d1 = await start([`127.0.0.1:${d0.udpPort}`]);
    const d2 = await start([`127.0.0.1:${d0.udpPort}`]);
    first = new DhtClient({ apiUrl: `http://127.0.0.1:${d0.apiPort}` });
    a = new DhtClient({ apiUrl: `http://127.0.0.1:${d1.apiPort}` });
    b = new DhtClient({ apiUrl: `http://127.0.0.1:${d2.apiPort}` });
    await eventually(async () => (await b.status()).bootstrapped && (await a.status()).bootstrapped);
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.close()));
    for (const d of dirs) d.remove();
  });

  it('the first node accepts others joining', async () => {
    await eventually(async () => (await first.status()).tableSize >= 2);
    const s = await first.status();
    expect(s.nodeId).toMatch(/^[0-9a-f]{40}$/);
    expect(s.bootstrapped).toBe(true);
  });

  it('a peer announced through one daemon is found through another', async () => {
    const ih = randomInfohash();
    await a.announce(ih, 7001);
    expect((await a.status()).announced).toBe(1);
    const peers = await eventually(async () => {
      const found = await collect(b.findPeers(ih, { timeoutMs: 5_000 }));
      return found.length ? found : undefined;
    });
    expect(peers).toContainEqual({ host: '127.0.0.1', port: 7001 });
    const list = await a.announces();
    expect(list.map((e) => e.infohash)).toContain(ih);
    await a.unannounce(ih);
    expect((await a.status()).announced).toBe(0);
  });

  it('status reports traffic and stored peers', async () => {
    const s = await first.status();
    expect(s.traffic.packetsIn).toBeGreaterThan(0);
    expect(s.traffic.packetsOut).toBeGreaterThan(0);
    expect(s.udpPort).toBeGreaterThan(0);
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('stores and fetches BEP 44 immutable and mutable items', async () => {
    const value = Buffer.from('hello from dream');
    const target = await a.putImmutable(value);
    expect(target).toMatch(/^[0-9a-f]{40}$/);
    const got = await b.getImmutable(target);
    expect(Buffer.from(got!).toString()).toBe('hello from dream');
    expect(await b.getImmutable(randomInfohash())).toBeUndefined();

    const keypair = DhtClient.generateKeypair();
    const salt = Buffer.from('catalog');
    await a.putMutable({ keypair, value: Buffer.from('v1'), seq: 1, salt });
    const item = await eventually(() => b.getMutable(keypair.publicKey, { salt }));
    expect(Buffer.from(item.value).toString()).toBe('v1');
    expect(item.seq).toBe(1);
    await a.putMutable({ keypair, value: Buffer.from('v2'), seq: 2, salt });
    const item2 = await eventually(async () => {
      const it = await b.getMutable(keypair.publicKey, { salt });
      return it?.seq === 2 ? it : undefined;
    });
    expect(Buffer.from(item2.value).toString()).toBe('v2');
  });

  it('rejects a bad infohash with a clear error', async () => {
    await expect(a.announce('zz', 1)).rejects.toThrow(/40 hexadecimal digits/);
    const res = await fetch(`${(a as unknown as { base: string }).base}/v1/peers/nothex`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_infohash');
    expect(body.error.message).toMatch(/40 hexadecimal digits/);
  });

  it('reports an unreachable daemon as such', async () => {
    const c = new DhtClient({ apiUrl: 'http://127.0.0.1:1' });
    await expect(c.status()).rejects.toBeInstanceOf(DhtApiError);
  });
});
