// The quickstart's main job, on embedded defaults, in a private sandbox (.quickstart/): no config
// of yours is read or written, and nothing joins the public DHT (a one-node private network).
//   1. start dream-dht and dream-torrent      (dream-cli daemon start)
//   2. make a sample clip with ffmpeg          (a 60 s test pattern with a tone)
//   3. upload it with a title                  (dream-cli upload clip.mp4 "Dream quickstart")
//   4. find it by title and stream it          (dream-cli stream "dream quikstart" --first)
//      to mpv when a display exists; otherwise print the URL and check it with ffprobe
//   5. leave the daemons running (or stop them: --stop), printing how to use them
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const sandbox = join(root, '.quickstart');
const config = join(sandbox, 'config.toml');
const cliBin = join(root, 'packages/cli/dist/dream-cli.mjs');
const stopAfter = process.argv.includes('--stop');

const step = (msg) => console.log(`\n==> ${msg}`);
const cli = (args, opts = {}) => {
  const r = spawnSync(process.execPath, [cliBin, '--config', config, ...args], {
    stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
    env: { ...process.env, DREAM_CONFIG: '' },
  });
  if (r.status !== 0) {
    console.error(`\ndream-cli ${args.join(' ')} failed with status ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
};
const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

mkdirSync(sandbox, { recursive: true });
if (!existsSync(config)) {
  const [peer, api, stream] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    config,
    [
      '# The quickstart sandbox: a private one-node network. Delete .quickstart/ to start afresh.',
      '[general]',
      `output_dir = ${JSON.stringify(join(sandbox, 'videos'))}`,
      `state_dir = ${JSON.stringify(join(sandbox, 'state'))}`,
      '[network]',
      'bootstrap_nodes = []',
      'private = true',
      '[dht]',
      `port = ${peer}`,
      `api_port = ${api}`,
      '[torrent]',
      `port = ${peer}`,
      '[stream]',
      `port = ${stream}`,
      '',
    ].join('\n'),
  );
}

step('starting dream-dht and dream-torrent');
cli(['daemon', 'start']);

const clip = join(sandbox, 'dream-quickstart.mp4');
if (!existsSync(clip)) {
  step('making a 60 s sample clip with ffmpeg');
  // The CLI's own generator (a test pattern with a tone), so the quickstart and the tests agree.
  const { sampleClip } = await import('../packages/cli/dist/index.js');
  await sampleClip(clip, 60).catch((err) => {
    console.error(`could not make the sample clip: ${err.message}`);
    process.exit(1);
  });
}

step('uploading it: hashed, seeded in place, announced, added to the catalog');
cli(['upload', clip, 'Dream quickstart']);

step('searching for it with a typo, and streaming it');
const display = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
if (display) {
  cli(['stream', 'dream quikstart', '--first']);
} else {
  const url = cli(['stream', 'dream quikstart', '--first', '--print-url'], { capture: true }).trim();
  console.log(`stream URL: ${url}`);
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', url],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    console.error(`ffprobe could not read the stream: ${probe.stderr}`);
    process.exit(1);
  }
  const info = JSON.parse(probe.stdout);
  console.log(
    `checked with ffprobe: ${info.streams.map((s) => s.codec_name).join(' + ')}, ${Number(info.format.duration).toFixed(1)} s`,
  );
  console.log('(no display: open the URL in mpv, VLC or a browser on this machine)');
}

if (stopAfter) {
  step('stopping the daemons');
  cli(['daemon', 'stop']);
} else {
  const { webUi } = JSON.parse(cli(['--json', 'status'], { capture: true }));
  console.log(
    `\nThe daemons keep running. In a browser on this machine: ${webUi} (search, play, the torrents).` +
      `\nTry:\n  node ${cliBin} --config ${config} status\n  node ${cliBin} --config ${config} daemon stop`,
  );
}
