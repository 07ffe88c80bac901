// dream-torrent as a process (built dist/): flags, exit codes, the control API over a real socket,
// SIGTERM flushing resume data; and kill -9 at random points of a download, several times: the
// data ends correct and no verified piece is ever downloaded twice.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { bytesAnsweredToPlaintext } from './peers/plaintext-peer.js';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(PKG, 'dist', 'bin', 'dream-torrent.js');
const DIST_INDEX = join(PKG, 'dist', 'index.js');
const CONFIG_INDEX = join(PKG, '..', 'config', 'dist', 'index.js');

let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await makeTempDir('dream-daemon-');
});
afterAll(async () => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  await removeDir(dir);
});

interface Proc {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
  waitLine(re: RegExp, timeoutMs?: number): Promise<string>;
}

function run(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return {
    child,
    lines,
    exit,
    waitLine(re, timeoutMs = 30_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line ${re} in:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exit.then(() =>
          setTimeout(() => reject(new Error(`exited before ${re}:\n${lines.join('\n')}`)), 100),
        );
      });
    },
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `torrentKeys`: more lines of its [torrent] table; `extra`: more tables at the end. */
async function writeConfig(name: string, apiPort: number, extra = '', torrentKeys = ''): Promise<string> {
  const base = join(dir, name);
  const file = join(dir, `${name}.toml`);
  await writeFile(
    file,
    `[general]\noutput_dir = "${base}/out"\nstate_dir = "${base}/state"\n[dht]\nenabled = false\n` +
      `[torrent]\nhost = "127.0.0.1"\nport = 0\n${torrentKeys}[stream]\nhost = "127.0.0.1"\nport = ${apiPort}\n${extra}`,
  );
  return file;
}

describe('dream-torrent daemon', () => {
  it('prints help, refuses unknown flags (2) and a bad config (78)', async () => {
    const help = run(process.execPath, [BIN, '--help']);
    expect(await help.exit).toBe(0);
    expect(help.lines.join('\n')).toContain('--config');
    expect(await run(process.execPath, [BIN, '--frobnicate']).exit).toBe(2);
    const bad = join(dir, 'bad.toml');
    await writeFile(bad, '[torrent]\nport = "many"\n');
    expect(await run(process.execPath, [BIN, '--config', bad]).exit).toBe(78);
  });

  it('serves the control API, adds a torrent, and on SIGTERM flushes resume data and exits 0', async () => {
    const apiPort = await freePort();
    const config = await writeConfig('d1', apiPort);
    const p = run(process.execPath, [BIN, '--config', config]);
    await p.waitLine(/dream-torrent ready/);
    const base = `http://127.0.0.1:${apiPort}`;
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    await makeFiles(join(dir, 'd1-src'), [{ path: 'clip.mp4', size: 100_000 }]);
    const add = await fetch(`${base}/api/torrents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: join(dir, 'd1-src', 'clip.mp4') }),
    });
    expect(add.status).toBe(201);
    const { infohash } = (await add.json()) as { infohash: string };
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(existsSync(join(dir, 'd1', 'state', 'torrents'))).toBe(true);
    const saved = await readdir(join(dir, 'd1', 'state', 'torrents'));
    expect(saved.some((f) => f.includes(infohash))).toBe(true);

    // Restarted, it restores the torrent (seeding again, no re-add).
    const again = run(process.execPath, [BIN, '--config', config]);
    await again.waitLine(/dream-torrent ready/);
    const list = (await (await fetch(`${base}/api/torrents`)).json()) as {
      torrents: { infohash: string; state: string }[];
    };
    expect(list.torrents.map((t) => [t.infohash, t.state])).toEqual([[infohash, 'seeding']]);

    // A second daemon on the same API port says so and exits 1.
    const clash = run(process.execPath, [BIN, '--config', config]);
    expect(await clash.exit).toBe(1);
    expect(clash.lines.join('\n')).toMatch(/in use/);
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  });

  it('takes torrent.encryption from its config: "required" turns a plaintext peer away, a typo exits 78', async () => {
    const typo = await writeConfig('enc-typo', await freePort(), '', 'encryption = "always"\n');
    const bad = run(process.execPath, [BIN, '--config', typo]);
    expect(await bad.exit).toBe(78);
    expect(bad.lines.join('\n')).toContain('encryption');

    const apiPort = await freePort();
    const config = await writeConfig('enc', apiPort, '', 'encryption = "required"\n');
    const p = run(process.execPath, [BIN, '--config', config]);
    await p.waitLine(/dream-torrent ready/);
    const base = `http://127.0.0.1:${apiPort}`;
    await makeFiles(join(dir, 'enc-src'), [{ path: 'clip.mp4', size: 100_000 }]);
    const add = await fetch(`${base}/api/torrents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: join(dir, 'enc-src', 'clip.mp4') }),
    });
    const { infohash } = (await add.json()) as { infohash: string };
    const { port } = (await (await fetch(`${base}/api/health`)).json()) as { port: number };
    expect(await bytesAnsweredToPlaintext(port, infohash)).toBe(0);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });
});

describe('kill -9 during a download', () => {
  it('restarts with correct data and never downloads a verified piece twice', async () => {
    const src = join(dir, 'k9-src');
    await makeFiles(src, [
      { path: 'big/video.mkv', size: 6 * 1024 * 1024 + 4321 },
      { path: 'big/b.srt', size: 50_000 },
    ]);
    const made = await makeTorrent({ source: join(src, 'big'), pieceLength: 32 * 1024 });
    const lt = await startLibtorrent({ savePath: src, torrent: made.torrent, uploadLimit: 1024 * 1024 });
    try {
      await lt.waitFinished(60_000);
      // A tiny engine host: prints each verified piece; restarts restore from the same resume dir.
      const script = join(dir, 'k9-child.mjs');
      const torrentFile = join(dir, 'k9.torrent');
      await writeFile(torrentFile, made.torrent);
      await writeFile(
        script,
        `import { readFileSync } from 'node:fs';
const { createLogger } = await import(${JSON.stringify(CONFIG_INDEX)});
const { Engine } = await import(${JSON.stringify(DIST_INDEX)});
const [out, state, torrentPath, ih, peerPort] = process.argv.slice(2);
const e = await Engine.start({ outputDir: out, resumeDir: state, host: '127.0.0.1', port: 0, maxConnections: 20,
  log: createLogger({ name: 'k9', level: 'silent' }), trackers: false });
e.on('piece', (_ih, i) => console.log(JSON.stringify({ piece: i })));
e.on('done', () => console.log(JSON.stringify({ done: true })));
if (!e.torrent(ih)) await e.add({ torrent: readFileSync(torrentPath) });
const t = e.torrent(ih);
console.log(JSON.stringify({ restored: t.summary().havePieces }));
if (t.isDone()) console.log(JSON.stringify({ done: true }));
e.addPeers(ih, [{ host: '127.0.0.1', port: Number(peerPort) }]);
`,
      );
      const out = join(dir, 'k9-out');
      const state = join(dir, 'k9-state');
      const seen = new Map<number, number>();
      let finished = false;
      // Kill after a random number of pieces, three times, then let it finish.
      const pieceCount = Math.ceil((6 * 1024 * 1024 + 4321 + 50_000) / (32 * 1024));
      for (let round = 0; round < 4 && !finished; round++) {
        const p = run(process.execPath, [script, out, state, torrentFile, made.infoHash, String(lt.port)]);
        const restored = JSON.parse(await p.waitLine(/"restored"/, 60_000)) as { restored: number };
        if (round > 0) expect(restored.restored).toBeGreaterThan(0);
        const killAt =
          round < 3 ? 5 + Math.floor(Math.random() * (pieceCount / 5)) : Number.POSITIVE_INFINITY;
        let count = 0;
        await new Promise<void>((resolve) => {
          const check = (buf: Buffer) => {
            for (const line of buf.toString().split('\n')) {
              if (line.startsWith('{"piece"')) {
                const i = (JSON.parse(line) as { piece: number }).piece;
                seen.set(i, (seen.get(i) ?? 0) + 1);
                if (++count >= killAt) {
                  p.child.kill('SIGKILL');
                  resolve();
                }
              } else if (line.startsWith('{"done"')) {
                finished = true;
                p.child.kill('SIGTERM');
                resolve();
              }
            }
          };
          p.child.stdout?.on('data', check);
          if (p.lines.some((l) => l.startsWith('{"done"'))) {
            finished = true;
            p.child.kill('SIGTERM');
            resolve();
          }
        });
        await p.exit;
      }
      expect(finished).toBe(true);
      const twice = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
      expect(twice).toEqual([]);
      await assertSameTree(join(src, 'big'), join(out, 'big'));
    } finally {
      await lt.stop();
    }
  }, 240_000);
});
