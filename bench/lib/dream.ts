// Dream (the dream-torrent daemon) as a streaming client under test.
//
// The daemon is started first, untimed, as a user's is already running (the goals count from
// the `dream-cli stream` call, "the daemons already running"). It gets a throw-away config: data and
// state in the run's work directory, no DHT and no bootstrap (nothing leaves the machine), BitTorrent
// and HTTP on loopback. Asking for the stream is what a user types: `dream-cli stream <file.torrent>
// --peer <seeder> --print-url` (peerflix gets the same .torrent and --peer); the clock starts just
// before the CLI process is spawned, so Node's start-up and the CLI's own work count. The CLI prints
// the URL once the first verified piece is there; the benchmark polls the URL meanwhile, as it does
// for the others.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../packages/torrent-engine/test/peers/child.js';
import { spawnClient } from './child.js';
import { type Contender, type LaunchedStream, NotAvailable, type StreamRequest } from './contender.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Built code, like every daemon the tests and users run (`pnpm bench` builds first). */
export const DREAM_TORRENT_BIN = join(ROOT, 'packages', 'torrent-engine', 'dist', 'bin', 'dream-torrent.js');
export const DREAM_CLI_BIN = join(ROOT, 'packages', 'cli', 'dist', 'dream-cli.mjs');

/** TOML for a daemon confined to `workDir` and loopback. */
export function benchConfig(workDir: string, streamPort: number): string {
  return [
    '[general]',
    `output_dir = ${JSON.stringify(join(workDir, 'videos'))}`,
    `state_dir = ${JSON.stringify(join(workDir, 'state'))}`,
    'log_level = "warn"',
    // An A/B knob for the mpv rows: the mpv cache dream-cli asks for (unset: the default, 10 s).
    ...(process.env.DREAM_BENCH_PLAYER_CACHE_S !== undefined
      ? [`player_cache_seconds = ${Number(process.env.DREAM_BENCH_PLAYER_CACHE_S)}`]
      : []),
    '[network]',
    'bootstrap_nodes = []',
    'private = true',
    '[dht]',
    'enabled = false',
    '[torrent]',
    'host = "127.0.0.1"',
    'port = 0',
    '[stream]',
    'host = "127.0.0.1"',
    `port = ${streamPort}`,
    '',
  ].join('\n');
}

async function waitHealthy(base: string, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (exited()) throw new Error('dream-torrent exited during start-up');
    try {
      const res = await fetch(`${base}/api/health`);
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dream-torrent: GET /api/health not ok within ${timeoutMs} ms (${last})`);
}

export const dream: Contender = {
  name: 'Dream',
  async launch(request: StreamRequest): Promise<LaunchedStream> {
    if (!existsSync(DREAM_TORRENT_BIN)) {
      throw new NotAvailable(`${DREAM_TORRENT_BIN} is not built (run pnpm build)`);
    }
    const port = await freePort();
    await mkdir(request.workDir, { recursive: true });
    const configPath = join(request.workDir, 'config.toml');
    await writeFile(configPath, benchConfig(request.workDir, port));
    const child = spawnClient(
      'dream-torrent',
      process.execPath,
      [DREAM_TORRENT_BIN, '--config', configPath],
      ROOT,
    );
    let exited = false;
    void child.exited.then(() => (exited = true));
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(base, 30_000, () => exited);
      const askedAt = performance.now();
      const cli = spawnClient(
        'dream-cli',
        process.execPath,
        [
          DREAM_CLI_BIN,
          '--config',
          configPath,
          'stream',
          request.torrentPath,
          ...['--peer', `${request.peer.host}:${request.peer.port}`],
          ...['--file', String(request.fileIndex)],
          ...(request.mpv ? ['--player', 'mpv'] : ['--print-url']),
        ],
        ROOT,
        request.mpv?.env,
      );
      // It exits once it has printed the URL (or its player quit); stop() must not signal its PID
      // after that (reusable).
      let cliExited = false;
      let stopping = false;
      void cli.exited.then((code) => {
        cliExited = true;
        // Not when the bench stopped it itself (a status null: killed, its player with it).
        if (code !== 0 && !stopping)
          process.stderr.write(`dream-cli stream failed (status ${code}): ${cli.describe()}\n`);
      });
      return {
        askedAt,
        url: `${base}/stream/${request.infoHash}/${request.fileIndex}`,
        pid: child.pid,
        stop: async () => {
          stopping = true;
          if (!cliExited) await cli.stop();
          await child.stop();
        },
        describe: () => `${child.describe()}\n${cli.describe()}`,
      };
    } catch (err) {
      const message = `${(err as Error).message}\n${child.describe()}`;
      await child.stop();
      throw new NotAvailable(message);
    }
  },
};
