/**
 * Launching a video player. Always an argument array through spawn (never a shell: a title or file
 * name is data, not code), the URL percent-encoded by the caller, subtitles passed the way each
 * player expects them. Pure argument building is kept apart from spawning so it can be tested.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { CliError } from './errors.js';

export interface PlayOptions {
  url: string;
  title?: string;
  subtitles?: string[];
  /**
   * How many seconds of video the player may buffer ahead of what it shows (0 or absent: the
   * player's default). mpv's own default is effectively unlimited up to 150 MiB of demuxer cache,
   * and it keeps filling that cache while paused: measured here, a paused mpv pulled 112 MiB in
   * 30 s from a 4 MiB/s seeder, which defeats the engine's bounded readahead. The engine keeps
   * stream.readahead_seconds of verified pieces on disk, so a short player cache loses nothing.
   */
  cacheSeconds?: number;
  /** Extra arguments from the user, appended as separate argv entries. */
  extraArgs?: string[];
}

/** The argv (without the program) for a known player; unknown players get just the URL. */
export function playerArgs(player: string, opts: PlayOptions): string[] {
  const kind = basename(player)
    .replace(/\.exe$/i, '')
    .toLowerCase();
  const defaults: string[] = [];
  const args: string[] = [];
  if (kind === 'mpv') {
    if (opts.cacheSeconds) defaults.push(`--cache-secs=${opts.cacheSeconds}`);
    if (opts.title) args.push(`--force-media-title=${opts.title}`);
    for (const s of opts.subtitles ?? []) args.push(`--sub-file=${s}`);
    args.push('--', opts.url);
  } else if (kind === 'vlc' || kind === 'cvlc') {
    if (opts.title) args.push('--meta-title', opts.title);
    for (const s of opts.subtitles ?? []) args.push(`--input-slave=${s}`);
    args.push('--play-and-exit', '--', opts.url);
  } else {
    args.push(opts.url);
  }
  // The user's extra arguments come after our defaults (mpv: the last occurrence wins) and before
  // the URL.
  return [...defaults, ...(opts.extraArgs ?? []), ...args];
}

/** Finds an executable on PATH the way a shell would, without using one. */
export function findExecutable(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  const candidates =
    isAbsolute(name) || name.includes('/') ? [name] : envPath.split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function launchPlayer(
  player: string,
  opts: PlayOptions,
  stdio: 'inherit' | 'ignore' = 'inherit',
): ChildProcess {
  const exe = findExecutable(player);
  if (!exe) throw CliError.playerMissing(player);
  return spawn(exe, playerArgs(player, opts), { stdio, shell: false });
}

/** How a player process ended: an exit status, or the signal that stopped it. */
export interface PlayerEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "exited with status 2", or "was stopped by SIGKILL" (a player killed by a signal has no status). */
export function describePlayerEnd(end: PlayerEnd): string {
  if (end.code !== null) return `exited with status ${end.code}`;
  return `was stopped by ${end.signal ?? 'an unknown signal'}`;
}
