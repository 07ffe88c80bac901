/**
 * Engine benchmark: full-download throughput on loopback from one libtorrent seeder (unlimited,
 * plain TCP, 1 MiB pieces), our engine against native clients leeching the same torrent in the
 * same run, each alone in turn: MiB/s from start to verified completion, CPU seconds and peak RSS of
 * the downloading process (from /proc). Goals (issue 3): at least libtorrent's MiB/s, at most
 * 1 CPU second per 200 MiB, peak RSS at most 100 MiB.
 *
 *   pnpm bench engine            (or: node --import tsx bench/engine.ts; BENCH_ENGINE_MIB=50 for a quick run)
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startAria2 } from '../packages/torrent-engine/test/peers/aria2.js';
import { freePort, waitForListening } from '../packages/torrent-engine/test/peers/child.js';
import { makeFiles } from '../packages/torrent-engine/test/peers/fixtures.js';
import { startLibtorrent } from '../packages/torrent-engine/test/peers/libtorrent.js';
import {
  COMPETITORS_DIR,
  ensureCompetitorsInstalled,
  PEERFLIX_BIN,
  WEBTORRENT_BIN,
} from './competitors/paths.js';
import { withAnnounce } from './competitors/webtorrent.js';
import { spawnClient } from './lib/child.js';
import { TreeMonitor } from './lib/proc.js';
import { type BenchTorrent, type Swarm, startSwarm, torrentOf } from './lib/seed.js';
import { formatMiB, MiB, ratio } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZE_MIB = Number(process.env.BENCH_ENGINE_MIB ?? 200);
const CACHE = join(tmpdir(), 'dream-bench-engine');
const TIMEOUT_MS = 180_000;

interface Result {
  name: string;
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  note?: string;
}

/** Our engine in its own process (the library over the built dist/, as the daemon runs it). */
const CHILD = `
const [dist, config, out, torrentPath, port] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const { Engine } = await import(dist);
const { createLogger } = await import(config);
const e = await Engine.start({ outputDir: out, host: '127.0.0.1', port: 0, maxConnections: 50,
  log: createLogger({ name: 'bench', level: 'silent' }), trackers: false });
e.on('done', async () => { console.log('DONE'); });
if (torrentPath === '-') { console.log('DONE'); await new Promise(() => {}); }
if (torrentPath.startsWith('seed:')) {
  await e.add({ torrent: readFileSync(torrentPath.slice(5)), path: port });
  console.log('SEEDING ' + e.port);
  await new Promise(() => {});
}
await e.add({ torrent: readFileSync(torrentPath) }, { peers: [{ host: '127.0.0.1', port: Number(port) }] });
`;

/** CPU and RSS of the same process that starts the engine and adds nothing (Node + modules). */
async function dreamIdle(work: string): Promise<Result> {
  const script = join(work, 'dream-child.mjs');
  await writeFile(script, CHILD);
  const started = performance.now();
  const child = spawnClient(
    'dream engine (idle)',
    process.execPath,
    [
      script,
      join(ROOT, 'packages/torrent-engine/dist/index.js'),
      join(ROOT, 'packages/config/dist/index.js'),
      join(work, 'idle-out'),
      '-',
      '0',
    ],
    work,
  );
  const monitor = new TreeMonitor(child.pid, 100);
  try {
    await waitForOutput(child, 'DONE');
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return {
      name: 'Dream engine, started idle',
      seconds,
      cpuSeconds: u.cpuSeconds,
      peakRssBytes: u.peakRssBytes,
    };
  } finally {
    monitor.stop();
    await child.stop();
  }
}

async function dreamRun(t: BenchTorrent, swarm: Swarm, work: string): Promise<Result> {
  const script = join(work, 'dream-child.mjs');
  await writeFile(script, CHILD);
  const out = join(work, 'dream-out');
  const started = performance.now();
  const child = spawnClient(
    'dream engine',
    process.execPath,
    [
      script,
      join(ROOT, 'packages/torrent-engine/dist/index.js'),
      join(ROOT, 'packages/config/dist/index.js'),
      out,
      t.torrentPath,
      String(swarm.seeder.port),
    ],
    work,
  );
  const monitor = new TreeMonitor(child.pid, 100);
  try {
    await waitForOutput(child, 'DONE');
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return { name: 'Dream engine', seconds, cpuSeconds: u.cpuSeconds, peakRssBytes: u.peakRssBytes };
  } finally {
    monitor.stop();
    await child.stop();
  }
}

/** Resolves when the child prints `word` on stdout (spawnClient keeps only a tail: poll describe()). */
async function waitForOutput(child: ReturnType<typeof spawnClient>, word: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (child.describe().includes(`\n  ${word}`)) return;
    if (exited) throw new Error(`exited before ${word}: ${child.describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${word} within ${TIMEOUT_MS} ms: ${child.describe()}`);
}

/** Our engine seeding the file in place; a libtorrent leecher downloads it (upload path). */
async function dreamSeedRun(t: BenchTorrent, work: string): Promise<Result> {
  const script = join(work, 'dream-child.mjs');
  await writeFile(script, CHILD);
  const child = spawnClient(
    'dream seeder',
    process.execPath,
    [
      script,
      join(ROOT, 'packages/torrent-engine/dist/index.js'),
      join(ROOT, 'packages/config/dist/index.js'),
      join(work, 'seed-out'),
      `seed:${t.torrentPath}`,
      t.videoPath,
    ],
    work,
  );
  try {
    await waitForOutput(child, 'SEEDING');
    const port = Number(/SEEDING (\d+)/.exec(child.describe())?.[1]);
    const monitor = new TreeMonitor(child.pid, 100);
    const before = monitor.usage();
    const started = performance.now();
    const lt = await startLibtorrent({
      savePath: join(work, 'lt-out'),
      torrent: t.torrent,
      peers: [port],
      encryption: 'disabled',
    });
    try {
      await lt.waitFinished(TIMEOUT_MS);
      const seconds = (performance.now() - started) / 1000;
      const u = monitor.stop();
      return {
        name: 'Dream engine seeding → libtorrent',
        seconds,
        cpuSeconds: u.cpuSeconds - before.cpuSeconds,
        peakRssBytes: u.peakRssBytes,
        note: 'CPU of our seeder during the transfer (start-up excluded); the file is in the page cache',
      };
    } finally {
      monitor.stop();
      await lt.stop();
    }
  } finally {
    await child.stop();
  }
}

/** Resolves once the seeder has uploaded `bytes` more than `from` (payload), polling its stats. */
async function seederSent(swarm: Swarm, from: number, bytes: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await swarm.uploaded()) - from >= bytes) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the seeder did not send ${bytes} bytes within ${TIMEOUT_MS} ms`);
}

/**
 * peerflix (torrent-stream) fetching the whole file: it never exits on its own, so completion is
 * the seeder having sent the whole file to it (the last pieces' hashing is not counted).
 */
async function peerflixRun(t: BenchTorrent, swarm: Swarm, work: string): Promise<Result> {
  ensureCompetitorsInstalled();
  const from = await swarm.uploaded();
  const started = performance.now();
  const args = [
    PEERFLIX_BIN,
    t.torrentPath,
    ...[
      '--hostname',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--peer-port',
      String(await freePort()),
    ],
    ...['--peer', `127.0.0.1:${swarm.seeder.port}`, '--path', join(work, 'buffer'), '--quiet'],
  ];
  const child = spawnClient('peerflix', process.execPath, args, COMPETITORS_DIR);
  const monitor = new TreeMonitor(child.pid, 100);
  try {
    await seederSent(swarm, from, t.size);
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return {
      name: 'peerflix 0.39',
      seconds,
      cpuSeconds: u.cpuSeconds,
      peakRssBytes: u.peakRssBytes,
      note: 'done = the seeder sent the whole file (peerflix never exits)',
    };
  } finally {
    monitor.stop();
    await child.stop();
  }
}

/** webtorrent-cli `download` without --keep-seeding: it exits once the download is verified. */
async function webtorrentRun(t: BenchTorrent, swarm: Swarm, work: string): Promise<Result> {
  ensureCompetitorsInstalled();
  const torrentPath = join(work, 'with-tracker.torrent');
  await writeFile(torrentPath, withAnnounce(t.torrent, swarm.trackerUrl));
  const torrentPort = await freePort();
  const started = performance.now();
  const args = [
    WEBTORRENT_BIN,
    ...['download', torrentPath, '--out', join(work, 'out'), '--port', String(await freePort())],
    ...['--torrent-port', String(torrentPort), '--quiet'],
  ];
  const child = spawnClient('webtorrent-cli', process.execPath, args, COMPETITORS_DIR);
  const monitor = new TreeMonitor(child.pid, 100);
  // It tries uTP first for tracker peers (about 40 s): the seeder dials its TCP port, as in bench/lib.
  void waitForListening(torrentPort, 60_000, '127.0.0.1').then(
    () => swarm.dial(torrentPort),
    () => {},
  );
  try {
    const code = await Promise.race([
      child.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS)),
    ]);
    if (code !== 0) throw new Error(`exited with ${code}: ${child.describe()}`);
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return {
      name: 'webtorrent-cli 5',
      seconds,
      cpuSeconds: u.cpuSeconds,
      peakRssBytes: u.peakRssBytes,
      note: 'meets the seeder through the tracker; the seeder dials it',
    };
  } finally {
    monitor.stop();
    await child.stop();
  }
}

async function libtorrentRun(t: BenchTorrent, swarm: Swarm, work: string): Promise<Result> {
  const started = performance.now();
  const lt = await startLibtorrent({
    savePath: join(work, 'lt-out'),
    torrent: t.torrent,
    peers: [swarm.seeder.port],
    encryption: 'disabled',
  });
  const monitor = new TreeMonitor(lt.pid, 100);
  try {
    await lt.waitFinished(TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return {
      name: 'libtorrent (python3-libtorrent)',
      seconds,
      cpuSeconds: u.cpuSeconds,
      peakRssBytes: u.peakRssBytes,
      note: 'includes the python interpreter start (~0.2 s)',
    };
  } finally {
    monitor.stop();
    await lt.stop();
  }
}

async function aria2Run(t: BenchTorrent, swarm: Swarm, work: string): Promise<Result> {
  const started = performance.now();
  const aria = await startAria2({
    torrent: t.torrent,
    dir: join(work, 'aria2-out'),
    mode: 'leech',
    tracker: swarm.trackerUrl,
  });
  const monitor = new TreeMonitor(aria.pid, 100);
  try {
    await aria.waitReady(TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    const u = monitor.stop();
    return {
      name: 'aria2 1.36',
      seconds,
      cpuSeconds: u.cpuSeconds,
      peakRssBytes: u.peakRssBytes,
      note: 'meets the seeder through the tracker (one announce round trip)',
    };
  } finally {
    monitor.stop();
    await aria.stop();
  }
}

export async function run(): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const name = `payload-${SIZE_MIB}MiB.bin`;
  const videoPath = join(CACHE, name);
  const size = SIZE_MIB * MiB;
  try {
    const { statSync } = await import('node:fs');
    if (statSync(videoPath).size !== size) throw new Error('size');
  } catch {
    await makeFiles(CACHE, [{ path: name, size }], 'bench-engine');
  }
  const t = await torrentOf(videoPath, size, MiB);
  const swarm = await startSwarm(t, 0);
  const results: Result[] = [];
  const failures: string[] = [];
  try {
    const contenders: [string, (w: string) => Promise<Result>][] = [
      ['dream', (w) => dreamRun(t, swarm, w)],
      ['libtorrent', (w) => libtorrentRun(t, swarm, w)],
      ['aria2', (w) => aria2Run(t, swarm, w)],
      ['dream-seed', (w) => dreamSeedRun(t, w)],
      ...(process.env.BENCH_ENGINE_COMPETITORS === '0'
        ? []
        : ([
            ['peerflix', (w) => peerflixRun(t, swarm, w)],
            ['webtorrent', (w) => webtorrentRun(t, swarm, w)],
          ] as [string, (w: string) => Promise<Result>][])),
    ];
    for (const [label, fn] of contenders) {
      const work = join(CACHE, `run-${label}`);
      await rm(work, { recursive: true, force: true });
      await mkdir(work, { recursive: true });
      try {
        results.push(await fn(work));
      } catch (err) {
        failures.push(`${label}: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
  } finally {
    await swarm.stop();
  }
  const work = join(CACHE, 'run-idle');
  await mkdir(work, { recursive: true });
  const idle = await dreamIdle(work).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
  const lt = results.find((r) => r.name.startsWith('libtorrent'));
  const ours = results.find((r) => r.name === 'Dream engine');
  const pf = results.find((r) => r.name.startsWith('peerflix'));
  const ltRate = lt ? SIZE_MIB / lt.seconds : undefined;
  const rows = results.map((r) => {
    const rate = SIZE_MIB / r.seconds;
    return `| ${r.name} | ${rate.toFixed(1)} | ${ratio(rate, ltRate)} | ${r.cpuSeconds.toFixed(2)} | ${formatMiB(r.peakRssBytes)} | ${r.note ?? ''} |`;
  });
  return [
    '## Engine: full download on loopback',
    '',
    `A ${SIZE_MIB} MiB file (1 MiB pieces) from one libtorrent seeder on 127.0.0.1 (unlimited, plain TCP), each`,
    'client alone in turn, from process start to the last piece verified. CPU and peak RSS of the',
    "downloading process from /proc. Goals: MiB/s at least libtorrent's, at most 1 CPU s per 200 MiB,",
    'peak RSS at most 100 MiB.',
    '',
    '| client | MiB/s | vs libtorrent | CPU s | peak RSS | note |',
    '|---|---|---|---|---|---|',
    ...rows,
    ...(ours && pf
      ? [
          '',
          `Dream vs peerflix: ${ratio(SIZE_MIB / ours.seconds, SIZE_MIB / pf.seconds)} the throughput (goal: at least 2×).`,
        ]
      : []),
    ...(idle && ours
      ? [
          '',
          `Of Dream's figures, starting Node and loading the engine's modules alone takes ${idle.cpuSeconds.toFixed(2)} CPU s ` +
            `and ${formatMiB(idle.peakRssBytes)} (an idle engine, same process): the download itself cost ` +
            `${(ours.cpuSeconds - idle.cpuSeconds).toFixed(2)} CPU s per ${SIZE_MIB} MiB.`,
        ]
      : []),
    ...(failures.length ? ['', `Failed: ${failures.join('; ')}`] : []),
    '',
    'Command: `pnpm bench engine` (set `BENCH_ENGINE_MIB` for another size).',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${await run()}\n`);
}
