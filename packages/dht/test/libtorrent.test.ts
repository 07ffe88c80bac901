/**
 * Interop with a DHT nobody here wrote: libtorrent (Debian's python3-libtorrent, driven by
 * fixtures/lt_dht.py) bootstraps from our daemon; each side announces and the other finds it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '../src/index.js';
import { collect, eventually, randomInfohash, silentLog, tempDir, testConfig } from './helpers.js';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'lt_dht.py');

interface LtEvent {
  event: string;
  infohash?: string;
  port?: number;
  peers?: Array<[string, number]>;
  nodes?: number;
}

class Libtorrent {
  readonly events: LtEvent[] = [];
  private waiters: Array<() => void> = [];
  stderr = '';

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as LtEvent);
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(pred: (e: LtEvent) => boolean, timeoutMs = 30_000): Promise<LtEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`libtorrent: no matching event; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      const check = () => {
        const e = this.events.find(pred);
        if (e) {
          clearTimeout(timer);
          resolve(e);
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

describe('interop with libtorrent', () => {
  const dir = tempDir();
  let daemon: DhtDaemon;
  let client: DhtClient;
  let lt: Libtorrent;
  let ltPort: number;

  beforeAll(async () => {
    daemon = await startDhtDaemon(testConfig({ stateDir: dir.path, bootstrap: [] }), silentLog);
    client = new DhtClient({ apiUrl: `http://127.0.0.1:${daemon.apiPort}` });
    lt = new Libtorrent(
      spawn('/usr/bin/python3', [SCRIPT, `127.0.0.1:${daemon.udpPort}`, dir.path], { stdio: 'pipe' }),
    );
    ltPort = (await lt.waitFor((e) => e.event === 'ready')).port!;
    expect(ltPort).toBeGreaterThan(0);
    // libtorrent joins through us: it is in our routing table once it has queried us.
    await eventually(async () => (await client.status()).tableSize >= 1, 30_000);
  });

  afterAll(async () => {
    if (lt) {
      lt.send({ cmd: 'quit' });
      const exited = new Promise((r) => lt.proc.once('exit', r));
      const timer = setTimeout(() => lt.proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await daemon?.close();
    dir.remove();
  });

  it('finds a peer libtorrent announced', async () => {
    const ih = randomInfohash();
    lt.send({ cmd: 'announce', infohash: ih });
    const peers = await eventually(
      async () => {
        const found = await collect(client.findPeers(ih, { timeoutMs: 3_000 }));
        return found.some((p) => p.port === ltPort) ? found : undefined;
      },
      40_000,
      500,
    );
    // libtorrent announces with implied_port: the port we store is its UDP source port, which is
    // also its TCP listen port.
    expect(peers).toContainEqual({ host: '127.0.0.1', port: ltPort });
  });

  it('libtorrent finds a peer we announced', async () => {
    const ih = randomInfohash();
    await client.announce(ih, 8888);
    const reply = await eventually(
      async () => {
        const before = lt.events.length;
        lt.send({ cmd: 'get_peers', infohash: ih });
        const e = await lt.waitFor(
          (x) => lt.events.indexOf(x) >= before && x.event === 'peers' && x.infohash === ih,
          10_000,
        );
        return e.peers?.some(([h, p]) => h === '127.0.0.1' && p === 8888) ? e : undefined;
      },
      40_000,
      500,
    );
    expect(reply.peers).toContainEqual(['127.0.0.1', 8888]);
  });
});
