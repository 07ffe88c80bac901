/**
 * Choosing what to play: which search result (a numbered prompt on a terminal, --first or --pick N
 * for scripts) and which file of the torrent (the largest video; subtitles beside it).
 */
import { createInterface } from 'node:readline/promises';
import type { SearchResult } from '@dream/catalog/client';
import { fileUrlPart } from '@dream/http-stream/target';
import { formatResults } from './commands/search.js';
import { CliError } from './errors.js';

const VIDEO = /\.(mp4|m4v|mkv|webm|avi|mov|ts|m2ts|ogv|mpg|mpeg|wmv|flv)$/i;
const SUBTITLE = /\.(srt|vtt|ass|ssa|sub)$/i;

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

/** What to play: `--file <index>` if given, else the largest video; subtitles beside it either way. */
export function selectFile(
  files: ListedFile[],
  fileOption: string | undefined,
): { url: string; subtitles: string[]; paths: string[] } {
  const chosen = chooseFiles(files);
  let video = chosen.video;
  if (fileOption !== undefined) {
    const byIndex = files.find((f) => f.index === Number(fileOption));
    if (!byIndex) throw CliError.usage(`--file ${fileOption}: the torrent has ${files.length} files`);
    video = byIndex;
  }
  return {
    url: video.url,
    subtitles: chosen.subtitles.map((s) => s.url),
    // What the stream reads: the engine is asked to fetch these and not the rest (selection.ts).
    paths: [video.path, ...chosen.subtitles.map((s) => s.path)],
  };
}

/** The file to play (the largest video, else the largest file) and the subtitles to pass along. */
export function chooseFiles(files: ListedFile[]): { video: ListedFile; subtitles: ListedFile[] } {
  if (files.length === 0) throw new CliError('EMPTY_TORRENT', 'the torrent has no files to play', 1);
  const videos = files.filter((f) => VIDEO.test(f.path));
  const pool = videos.length > 0 ? videos : files;
  const video = pool.reduce((a, b) => (b.size > a.size ? b : a));
  const stem = video.path.replace(/\.[^./]+$/, '').toLowerCase();
  const subtitles = files
    .filter((f) => SUBTITLE.test(f.path))
    // Subtitles named after the video first (movie.en.srt), then the others.
    .sort(
      (a, b) => Number(b.path.toLowerCase().startsWith(stem)) - Number(a.path.toLowerCase().startsWith(stem)),
    );
  return { video, subtitles };
}
