/**
 * What `dream-cli stream` asks the engine to fetch when it added the torrent itself: the file it
 * plays and the subtitles it hands the player, not the rest of a season pack. Without this the
 * engine's background download (rarest first over the selected files, all of them by default)
 * would fetch every episode while one plays. A torrent the user had added before keeps the
 * selection they gave it (the engine adds a streamed file to it by itself).
 *
 * The engine numbers files with the pad files of hybrid torrents counted, the stream listing
 * without them: a .torrent's own list (parsed here with the engine's parser) gives the indices for
 * the add; otherwise the engine is given paths and maps them itself.
 */
import type { EngineApi } from './engine-api.js';

export interface EngineFile {
  index: number;
  path: string;
  pad: boolean;
}

/** The engine's indices of the files at `paths`, in the engine's order. */
export function fetchSelection(engineFiles: readonly EngineFile[], paths: readonly string[]): number[] {
  const wanted = new Set(paths);
  return engineFiles.filter((f) => !f.pad && wanted.has(f.path)).map((f) => f.index);
}

/**
 * Narrows a torrent whose metadata is known to the files at `paths`. Best effort: the stream plays
 * either way, and when this fails (the daemon went away, a path the torrent does not have: a stale
 * listing) the torrent keeps every file selected, as before; nothing is lost.
 */
export async function narrowToStream(engine: EngineApi, infohash: string, paths: readonly string[]) {
  await engine.selectPaths(infohash, paths).catch(() => {});
}
