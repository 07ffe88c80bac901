// The whole product on loopback, as two users would run it: two full nodes (each its own dream-dht
// and dream-torrent, state dirs and ports) plus a bootstrap node's catalog service. Node A uploads a
// generated video; node B streams it by a misspelt title into a real mpv (headless), which plays it
// to the end. B learns of A only through the DHT: the magnet carries no peer hint and no tracker.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, sampleClip } from '../src/index.js';
import { BINS, DreamNode, freePort } from './fixtures/dream-node.js';

const dir = mkdtempSync(join(tmpdir(), 'dream-e2e-'));
const catalogBin = new URL('../../catalog/dist/bin/dream-catalog.js', import.meta.url).pathname;
let catalog: ChildProcess | undefined;
let a: DreamNode;
let b: DreamNode;
const clip = join(dir, 'clip [test] "pattern".mp4');
// mpv reads its options from $MPV_HOME/mpv.conf: no window, frames as fast as they decode, and no
// audio track (a null audio output still plays in real time, which would make the test last minutes).
const mpvHome = join(dir, 'mpv');
const headless = { MPV_HOME: mpvHome };

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms`);
}

function runCli(node: DreamNode, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = node.spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  mkdirSync(mpvHome);
  writeFileSync(join(mpvHome, 'mpv.conf'), 'vo=null\nao=null\naudio=no\nuntimed=yes\nquiet=yes\n');
  const catalogPort = await freePort();
  catalog = spawn(
    process.execPath,
    [catalogBin, '--port', String(catalogPort), '--config', join(dir, 'none.toml')],
    {
      stdio: 'ignore',
      env: { ...process.env, XDG_STATE_HOME: join(dir, 'catalog-state'), DREAM_CONFIG: '' },
    },
  );
  writeFileSync(join(dir, 'none.toml'), '');
  const catalogUrl = `http://127.0.0.1:${catalogPort}`;
  a = await DreamNode.create({ dir: join(dir, 'a'), bootstrap: [], catalogUrl });
  b = await DreamNode.create({ dir: join(dir, 'b'), bootstrap: [a.dhtAddress], catalogUrl });
  await Promise.all([
    sampleClip(clip, 180, { size: '320x180' }),
    waitForHttp(`${catalogUrl}/healthz`, 20_000),
  ]);
  for (const node of [a, b]) {
    const r = node.start();
    expect(r.status, r.stderr).toBe(0);
  }
}, 180_000);

afterAll(() => {
  for (const node of [a, b]) {
    node?.stop();
    node?.kill();
  }
  if (catalog?.pid && catalog.exitCode === null) catalog.kill('SIGTERM');
});

describe('two nodes, a catalog and mpv', () => {
  let infohash = '';

  it('A uploads a video: seeded in place, announced, published', async () => {
    const r = await runCli(a, ['--json', 'upload', clip, 'Dream Test Pattern Broadcast']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    infohash = out.infohash;
    expect(infohash).toMatch(/^[0-9a-f]{40}$/);
    expect(out.catalog).toBe('created');
    expect(out.seeding).toBe(clip);
    // No peer hint, no tracker: B can only find A through the DHT.
    expect(out.magnet).not.toContain('x.pe=');
    expect(out.magnet).not.toContain('tr=');
    const again = await runCli(a, ['--json', 'upload', clip, 'Dream Test Pattern Broadcast']);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ infohash, catalog: 'updated', alreadySeeding: true });
  });

  it('B streams it by a misspelt title into mpv, which plays it to the end', async () => {
    const r = await runCli(
      b,
      ['stream', 'dream tset patern', '--first', '--player', 'mpv'],
      headless,
      240_000,
    );
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('(End of file)');
    const ls = await runCli(b, ['--json', 'ls']);
    const mine = JSON.parse(ls.stdout).find((t: { infohash: string }) => t.infohash === infohash);
    expect(mine).toBeDefined();
    expect(mine.downloaded).toBeGreaterThan(0);
    // The catalog's duration (ffprobe at upload: the clip is 180 s) went to B's engine with the
    // stream: it sizes the readahead when the engine cannot read a file's header itself.
    expect(mine.durationSeconds).toBeCloseTo(180, 0);
  }, 300_000);

  it('the interactive pick, typed into a real terminal (tmux) as a person would', async () => {
    const encore = join(dir, 'encore.mp4');
    await sampleClip(encore, 4, { size: '160x90' });
    const up = await runCli(a, ['--json', 'upload', encore, 'Dream Test Pattern Encore']);
    expect(up.status, up.stderr).toBe(0);
    const encoreHash = JSON.parse(up.stdout).infohash as string;
    const session = `dream-e2e-${process.pid}`;
    const out = join(dir, 'pick.out');
    const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
    const cmd = [
      process.execPath,
      BINS.cli,
      '--config',
      b.config,
      'stream',
      'dream test pattern',
      '--print-url',
    ]
      .map((x) => `'${x.replaceAll("'", "'\\''")}'`)
      .join(' ');
    expect(
      tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `${cmd} > ${out}; sleep 30`).status,
    ).toBe(0);
    try {
      let screen = '';
      for (let i = 0; i < 200 && !screen.includes('Play which one?'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        screen = tmux('capture-pane', '-p', '-t', session).stdout;
      }
      expect(screen).toContain('Play which one? [1-2, q to quit]');
      const lines = screen.split('\n');
      const encoreLine = lines.find((l) => l.includes('Dream Test Pattern Encore'))!;
      const number = /^\s*(\d+)\./.exec(encoreLine)![1]!;
      tmux('send-keys', '-t', session, 'x', 'Enter');
      await new Promise((r) => setTimeout(r, 300));
      expect(tmux('capture-pane', '-p', '-t', session).stdout).toContain('"x" is not a number from 1 to 2');
      tmux('send-keys', '-t', session, number, 'Enter');
      let url = '';
      for (let i = 0; i < 600 && !url; i++) {
        await new Promise((r) => setTimeout(r, 100));
        url = existsSync(out) ? readFileSync(out, 'utf8').trim() : '';
      }
      expect(url).toContain(`/stream/${encoreHash}/`);
    } finally {
      tmux('kill-session', '-t', session);
    }
  });

  it('status reports both daemons on both nodes', async () => {
    const r = await runCli(b, ['--json', 'status']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.dht.tableSize).toBeGreaterThan(0);
    expect(s.torrents.length).toBeGreaterThan(0);
    expect(s.catalog.state).toBe('reachable');
    // The web UI it names is there.
    const ui = await fetch(s.webUi);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<title>Dream</title>');
  });

  it('errors a user meets, each with its message and exit status', async () => {
    const nothing = await runCli(b, ['stream', 'qqqzzz xxyy', '--first']);
    expect(nothing.status).toBe(EXIT.notFound);
    expect(nothing.stderr).toContain('No video matches "qqqzzz xxyy"');

    const noPlayer = await runCli(b, ['stream', 'dream test', '--first', '--player', 'no-such-player-xyz']);
    expect(noPlayer.status).toBe(EXIT.playerMissing);
    expect(noPlayer.stderr).toContain('"no-such-player-xyz" is not installed');

    const c = await DreamNode.create({ dir: join(dir, 'c'), bootstrap: [] });
    const down = await runCli(c, ['ls']);
    expect(down.status).toBe(EXIT.daemonDown);
    expect(down.stderr).toContain('dream-torrent is not running');
    expect(down.stderr).toContain('dream-cli daemon start');
    // A stream of an infohash goes straight to the add, which says the same.
    const downStream = await runCli(c, ['stream', 'a'.repeat(40), '--print-url']);
    expect(downStream.status).toBe(EXIT.daemonDown);
    expect(downStream.stderr).toContain('dream-torrent is not running');

    // A second node configured on A's ports: the port is in use.
    const clash = await DreamNode.create({ dir: join(dir, 'clash'), bootstrap: [] });
    clash.ports = { ...a.ports };
    const clashConfig = readFileSync(a.config, 'utf8').replaceAll(join(dir, 'a'), join(dir, 'clash'));
    writeFileSync(clash.config, clashConfig);
    const busy = clash.start();
    expect(busy.status).toBe(EXIT.portInUse);
    expect(busy.stderr).toContain('already in use');
    clash.stop();
  });
});
