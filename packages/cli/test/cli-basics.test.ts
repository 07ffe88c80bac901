import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, findExecutable, playerArgs } from '@dream/cli';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { selectFile } from '../src/pick.js';
import { fetchSelection } from '../src/selection.js';

const bin = new URL('../dist/dream-cli.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dream-cli-'));
const env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), DREAM_CONFIG: '' };
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

describe('player arguments', () => {
  it('pass a hostile title and URL as single argv entries, never through a shell', () => {
    const title = `"; rm -rf ~ #$(reboot) [x] 'q'`;
    const url = 'http://127.0.0.1:6882/stream/aa/0';
    const args = playerArgs('mpv', { url, title, subtitles: ['http://127.0.0.1:6882/stream/aa/1'] });
    expect(args).toEqual([
      `--force-media-title=${title}`,
      '--sub-file=http://127.0.0.1:6882/stream/aa/1',
      '--',
      url,
    ]);
    expect(playerArgs('/usr/bin/vlc', { url })).toEqual(['--play-and-exit', '--', url]);
    expect(playerArgs('someplayer', { url })).toEqual([url]);
  });

  it("bound mpv's own cache, leaving the user's extra arguments the last word", () => {
    const url = 'http://127.0.0.1:6882/stream/aa/0';
    expect(playerArgs('mpv', { url, cacheSeconds: 10 })).toEqual(['--cache-secs=10', '--', url]);
    expect(playerArgs('mpv', { url, cacheSeconds: 10, extraArgs: ['--cache-secs=60'] })).toEqual([
      '--cache-secs=10',
      '--cache-secs=60',
      '--',
      url,
    ]);
    expect(playerArgs('mpv', { url, cacheSeconds: 0 })).toEqual(['--', url]); // 0: mpv decides
    expect(playerArgs('vlc', { url, cacheSeconds: 10 })).toEqual(['--play-and-exit', '--', url]);
  });

  it('a title with quotes reaches the player intact', () => {
    // A fake player that writes its argv as JSON: proves no shell re-splits or expands anything.
    const fake = join(dir, 'mpv');
    writeFileSync(
      fake,
      `#!${process.execPath}\nrequire('fs').writeFileSync(process.env.OUT, JSON.stringify(process.argv.slice(2)));\n`,
    );
    chmodSync(fake, 0o755);
    const out = join(dir, 'argv.json');
    const title = `It's a "test" $(echo pwned) [1080p]`;
    const r = spawnSync(fake, playerArgs('mpv', { url: 'http://x/y', title }), {
      env: { OUT: out },
      shell: false,
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([
      `--force-media-title=${title}`,
      '--',
      'http://x/y',
    ]);
  });

  it('finds executables on PATH without a shell', () => {
    expect(findExecutable('node', `/nonexistent:${process.execPath.replace(/\/node$/, '')}`)).toBe(
      process.execPath,
    );
    expect(findExecutable('no-such-player-xyz')).toBeUndefined();
  });
});

describe('what a stream fetches', () => {
  it("is the played file and its subtitles, by the engine's indices, pad files skipped", () => {
    // A hybrid pack as the engine lists it: pad files between the files, counted in the indices.
    const files = [
      { index: 0, path: 'S01/e01.mkv', pad: false },
      { index: 1, path: 'S01/.pad/123', pad: true },
      { index: 2, path: 'S01/e01.srt', pad: false },
      { index: 3, path: 'S01/.pad/456', pad: true },
      { index: 4, path: 'S01/e02.mkv', pad: false },
    ];
    expect(fetchSelection(files, ['S01/e01.mkv', 'S01/e01.srt'])).toEqual([0, 2]);
    expect(fetchSelection(files, ['S01/e02.mkv', 'S01/e01.srt'])).toEqual([2, 4]);
    // A path the torrent lacks (a stale list) selects nothing, and a pad file's path never counts.
    expect(fetchSelection(files, ['S01/renamed.mkv', 'S01/.pad/123'])).toEqual([]);
  });
});

describe('which file dream-cli stream plays, and with which subtitles', () => {
  const MiB = 1 << 20;
  const listed = (paths: [string, number][]) =>
    paths.map(([path, size], index) => ({ index, path, size, url: `http://x/stream/ih/${index}` }));
  const pack = listed([
    ['S01/e01.mkv', 300 * MiB],
    ['S01/e01.en.srt', 40_000],
    ['S01/e02.mkv', 310 * MiB],
    ['S01/e02.en.srt', 40_000],
    ['S01/Subs/e02/French.srt', 40_000],
    ['S01/notes.txt', 100],
    ['S01/e10.mkv', 305 * MiB],
    ['S01/e1.mkv', 1 * MiB],
  ]);
  const played = (option: string | undefined) => selectFile(pack, option).paths;
  it("the largest video by default, with its own subtitles only, not the other episodes'", () => {
    expect(played(undefined)).toEqual(['S01/e02.mkv', 'S01/e02.en.srt', 'S01/Subs/e02/French.srt']);
  });
  it('--file by number or by part of the name (any case; the video over its subtitle)', () => {
    expect(played('0')).toEqual(['S01/e01.mkv', 'S01/e01.en.srt']);
    expect(played('e01')).toEqual(['S01/e01.mkv', 'S01/e01.en.srt']);
    expect(played('E10')).toEqual(['S01/e10.mkv']); // e1's name is a prefix of e10's: not its subtitles
    expect(played('notes')).toEqual(['S01/notes.txt']);
  });
  it('--file that matches several files, none or no number: a usage error listing the files', () => {
    const error = (option: string) => {
      try {
        selectFile(pack, option);
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        expect((err as CliError).exitCode).toBe(EXIT.usage);
        return (err as Error).message;
      }
      throw new Error(`--file ${option} was accepted`);
    };
    const several = error('e0');
    expect(several).toContain('2 files match; give more of the name, or the number');
    expect(several).toContain('    0  S01/e01.mkv (300.0 MiB)');
    expect(several).toContain('    2  S01/e02.mkv (310.0 MiB)');
    expect(several).not.toContain('e10.mkv');
    expect(error('e09')).toContain(`no file's name contains "e09"; the torrent's files:\n    0  S01/e01.mkv`);
    expect(error('12')).toContain("there is no file 12; the torrent's files:");
  });
  it('at most 40 subtitles, its own first, however many the torrent has', () => {
    const many = listed([
      ['v/film.mkv', 900 * MiB],
      ...Array.from({ length: 5000 }, (_, i): [string, number] => [
        `v/subs/${String(i).padStart(4, '0')}.srt`,
        10,
      ]),
      ['v/film.en.srt', 10],
    ]);
    const paths = selectFile(many, undefined).paths;
    expect(paths.length).toBe(1 + 40);
    expect(paths.slice(0, 3)).toEqual(['v/film.mkv', 'v/film.en.srt', 'v/subs/0000.srt']);
  });
  it("a film's unnamed subtitles go with it, a sample video or not", () => {
    const film = listed([
      ['Film (2020)/Film.2020.mkv', 4000 * MiB],
      ['Film (2020)/Sample/sample.mkv', 20 * MiB],
      ['Film (2020)/Subs/English.srt', 50_000],
      ['Film (2020)/Film.2020.fr.srt', 50_000],
    ]);
    expect(selectFile(film, undefined).paths).toEqual([
      'Film (2020)/Film.2020.mkv',
      'Film (2020)/Film.2020.fr.srt',
      'Film (2020)/Subs/English.srt',
    ]);
  });
});

describe('dream-cli config', () => {
  it('path, init, show round-trip through the XDG location', () => {
    const path = join(dir, 'xdg', 'dream', 'config.toml');
    expect(cli('config', 'path').stdout.trim()).toBe(`${path} (does not exist: every key takes its default)`);
    const init = cli('config', 'init');
    expect(init.status).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('[dht]');
    const again = cli('config', 'init');
    expect(again.status).toBe(EXIT.usage);
    expect(again.stderr).toContain('already exists');
    const show = cli('--json', 'config', 'show');
    expect(show.status).toBe(0);
    const parsed = JSON.parse(show.stdout);
    expect(parsed.file).toBe(path);
    expect(parsed.config.dht.port).toBe(6881);
  });

  it('a bad config file exits 78 naming the line', () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[stream]\nport = "http"\n');
    const r = cli('--config', bad, 'config', 'show');
    expect(r.status).toBe(EXIT.config);
    expect(r.stderr).toContain(`${bad}:2: stream.port`);
  });

  it('an unknown command is a usage error', () => {
    const r = cli('frobnicate');
    expect(r.status).toBe(EXIT.usage);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('documented exit statuses', () => {
  it('every exit status dream-cli uses is in the README table', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const [name, code] of Object.entries(EXIT)) {
      expect(readme, `exit ${code} (${name})`).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    }
  });
});
