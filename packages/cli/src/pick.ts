/**
 * Choosing what to play: which search result (a numbered prompt on a terminal, --first or --pick N
 * for scripts) and which file of the torrent (the largest video; subtitles beside it).
 */
import { createInterface } from 'node:readline/promises';
import type { SearchResult } from '@dream/catalog/client';
import { fileUrlPart } from '@dream/http-stream/target';
import { formatResults } from './commands/search.js';
import { CliError } from './errors.js';
import { bytes } from './format.js';

const VIDEO = /\.(mp4|m4v|mkv|webm|avi|mov|ts|m2ts|ogv|mpg|mpeg|wmv|flv)$/i;
const SUBTITLE = /\.(srt|vtt|ass|ssa|sub)$/i;
/**
 * Subtitle files handed to the player at most: a film has a few dozen languages at the very most,
 * and a torrent with thousands (hostile, or a dump) must not become thousands of player arguments
 * and fetches before the first frame. The video's own come first.
 */
const MAX_SUBTITLES = 40;

export async function pickResult(
  results: SearchResult[],
  opts: { first?: boolean; pick?: number },
): Promise<SearchResult> {
  if (opts.pick !== undefined) {
    const r = results[opts.pick - 1];
    if (!r) throw CliError.usage(`--pick ${opts.pick}: there are ${results.length} results`);
    return r;
  }
  if (opts.first || results.length === 1) return results[0]!;
  if (!process.stdin.isTTY) {
    throw CliError.usage(
      `${results.length} videos match; choose one with --pick N or --first (no terminal to ask on)`,
    );
  }
  process.stderr.write(`${formatResults(results)}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const answer = (await rl.question(`Play which one? [1-${results.length}, q to quit] `)).trim();
      if (answer === 'q' || answer === '') throw new CliError('CANCELLED', 'nothing chosen', 0);
      const n = Number(answer);
      if (Number.isInteger(n) && n >= 1 && n <= results.length) return results[n - 1]!;
      process.stderr.write(`"${answer}" is not a number from 1 to ${results.length}\n`);
    }
  } finally {
    rl.close();
  }
}

export interface ListedFile {
  index: number;
  path: string;
  size: number;
  url: string;
}

/**
 * A torrent's files as the stream server lists them, from a list known before its metadata is (a
 * .torrent's non-pad files, a catalog entry's `files`, which are the same list): the same indexes and
 * URLs, so the player can be started without waiting for the metadata.
 */
export function listKnownFiles(
  base: string,
  infohash: string,
  files: readonly { path: string; size: number }[],
): ListedFile[] {
  return files.map((f, index) => ({
    index,
    path: f.path,
    size: f.size,
    url: `${base}/stream/${infohash}/${fileUrlPart(index, f.path)}`,
  }));
}

/**
 * What to play: `--file` (an index, or a part of a file's name) if given, else the largest video;
 * with the subtitles that belong to it.
 */
export function selectFile(
  files: ListedFile[],
  fileOption: string | undefined,
): { url: string; subtitles: string[]; paths: string[] } {
  const video = fileOption === undefined ? mainFile(files) : fileByOption(files, fileOption);
  const subtitles = subtitlesFor(video, files).slice(0, MAX_SUBTITLES);
  return {
    url: video.url,
    subtitles: subtitles.map((s) => s.url),
    // What the stream reads: the engine is asked to fetch these and not the rest (selection.ts).
    paths: [video.path, ...subtitles.map((s) => s.path)],
  };
}

/** The largest video, else the largest file. */
export function mainFile(files: ListedFile[]): ListedFile {
  if (files.length === 0) throw new CliError('EMPTY_TORRENT', 'the torrent has no files to play', 1);
  const videos = files.filter((f) => VIDEO.test(f.path));
  const pool = videos.length > 0 ? videos : files;
  return pool.reduce((a, b) => (b.size > a.size ? b : a));
}

/**
 * `--file 3` (the index in the stream listing) or `--file e02` (a part of the path, any case): one
 * file, or a usage error that lists the files, so the user can choose without another command.
 */
export function fileByOption(files: ListedFile[], option: string): ListedFile {
  const text = option.trim();
  if (/^\d+$/.test(text)) {
    const byIndex = files.find((f) => f.index === Number(text));
    if (byIndex) return byIndex;
    throw CliError.usage(
      `--file ${option}: there is no file ${text}; the torrent's files:\n${listing(files)}`,
    );
  }
  const needle = text.toLowerCase();
  const matches = needle ? files.filter((f) => f.path.toLowerCase().includes(needle)) : [];
  // "e02" matches e02.mkv and e02.srt: the video is meant.
  const videos = matches.filter((f) => VIDEO.test(f.path));
  const candidates = videos.length > 0 ? videos : matches;
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0)
    throw CliError.usage(
      `--file ${option}: no file's name contains "${text}"; the torrent's files:\n${listing(files)}`,
    );
  throw CliError.usage(
    `--file ${option}: ${candidates.length} files match; give more of the name, or the number:\n${listing(candidates)}`,
  );
}

/** "  3  S01/e03.mkv (350.0 MiB)" lines, at most 30 of them. */
function listing(files: ListedFile[]): string {
  const shown = files
    .slice(0, 30)
    .map((f) => `  ${String(f.index).padStart(3)}  ${f.path} (${bytes(f.size)})`);
  if (files.length > shown.length) shown.push(`  … and ${files.length - shown.length} more`);
  return shown.join('\n');
}

/**
 * The subtitles to hand the player with `video`: its own, named after it (e02.srt, e02.en.srt,
 * "e02 - English.srt") or in a folder named after it (Subs/e02/English.srt), then those that
 * belong to no video (a film's Subs/English.srt). Not the other episodes' subtitles of a pack:
 * mpv opens each file it is given before the first frame, and each may sit in a piece of its own
 * that must be fetched first.
 */
export function subtitlesFor(video: ListedFile, files: ListedFile[]): ListedFile[] {
  const stems = files.filter((f) => VIDEO.test(f.path)).map((f) => stemOf(f.path));
  const subtitles = files.filter((f) => SUBTITLE.test(f.path));
  const own = stemOf(video.path);
  const mine = subtitles.filter((f) => belongsTo(f.path, own));
  const nobodys = subtitles.filter((f) => !stems.some((stem) => belongsTo(f.path, stem)));
  return [...mine, ...nobodys.filter((f) => !mine.includes(f))];
}

/** The file name without its extension, lower case: "s01/E02.mkv" -> "e02". */
function stemOf(path: string): string {
  return baseName(path)
    .replace(/\.[^.]+$/, '')
    .toLowerCase();
}

/** Named after the stem (the stem, then anything but a letter or digit), or in a folder named so. */
function belongsTo(path: string, stem: string): boolean {
  const lower = path.toLowerCase();
  const name = baseName(lower);
  const named = name.startsWith(stem) && !/[\p{L}\p{N}]/u.test(name.charAt(stem.length));
  return named || lower.split('/').slice(0, -1).includes(stem);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
