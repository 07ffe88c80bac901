/**
 * `dream-cli stream <query | magnet | infohash | file.torrent>`: find it, add it to dream-torrent,
 * start the player (mpv by default) on its URL at once and show buffering until the first verified
 * bytes are there; or print the URL, or pipe the bytes to stdout, once they are. Stays until the
 * player exits; Ctrl-C stops the player too.
 */
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { type DreamConfig, loadConfig, parseHostPort } from '@dream/config';
import { MetainfoError, parseMagnet, parseTorrent } from '@dream/torrent-engine/metainfo';
import type { Command } from 'commander';
import { catalogUrl, withCatalog } from '../catalog.js';
import { EngineApi, type TorrentSummary } from '../engine-api.js';
import { CliError, EXIT } from '../errors.js';
import { bytes } from '../format.js';
import { errorOf, httpOpen, httpText } from '../http.js';
import { type GlobalOptions, output } from '../output.js';
import { type ListedFile, listKnownFiles, pickResult, selectFile } from '../pick.js';
import {
  describePlayerEnd,
  findExecutable,
  launchPlayer,
  type PlayerEnd,
  type PlayOptions,
} from '../player.js';
import { type EngineFile, fetchSelection, narrowToStream } from '../selection.js';

interface StreamOptions {
  first?: boolean;
  pick?: string;
  player?: string;
  printUrl?: boolean;
  stdout?: boolean;
  file?: string;
  peer: string[];
}

interface Target {
  body: Record<string, unknown>;
  infohash: string;
  title: string | undefined;
  /**
   * The torrent's non-pad files when known before its metadata (a .torrent, a catalog entry): then
   * the player starts right after the add, its start-up overlapping the metadata's arrival.
   */
  files?: readonly { path: string; size: number }[];
  /** Where `files` came from, for the message when the torrent turns out to differ. */
  filesFrom?: string;
  /** The engine's own file list (pad files counted), when the torrent itself is here (a .torrent). */
  engineFiles?: readonly EngineFile[];
}

async function resolveTarget(
  arg: string,
  opts: StreamOptions,
  config: DreamConfig,
  engine: EngineApi,
): Promise<Target> {
  if (/^magnet:\?/i.test(arg) || /^[0-9a-f]{40}$/i.test(arg) || /^[a-z2-7]{32}$/i.test(arg)) {
    try {
      const m = parseMagnet(arg);
      return {
        body: { magnet: arg.startsWith('magnet:') ? arg : `magnet:?xt=urn:btih:${m.infohash}` },
        infohash: m.infohash,
        title: m.name,
      };
    } catch (err) {
      if (err instanceof MetainfoError) throw CliError.usage(`not a usable magnet link: ${err.message}`);
      throw err;
    }
  }
  if (arg.toLowerCase().endsWith('.torrent')) {
    const data = await readFile(arg).catch(() => undefined);
    if (data) {
      try {
        const meta = parseTorrent(data);
        return {
          body: { torrent: data.toString('base64') },
          infohash: meta.infohash,
          title: meta.name,
          files: meta.files.filter((f) => !f.pad).map((f) => ({ path: f.path, size: f.length })),
          filesFrom: arg,
          engineFiles: meta.files.map((f) => ({ index: f.index, path: f.path, pad: f.pad })),
        };
      } catch (err) {
        if (err instanceof MetainfoError)
          throw CliError.usage(`${arg} is not a usable .torrent: ${err.message}`);
        throw err;
      }
    }
  }
  // Before the user picks a title, not after: a stopped daemon is the first thing to fix. (A magnet,
  // an infohash or a .torrent goes straight to the add, which reports a stopped daemon itself: the
  // round trip saved, 10-15 ms from a fresh process, is on the way to the first frame.)
  await engine.health();
  const res = await withCatalog(config, (c) => c.search(arg, { limit: 20 }));
  if (res.results.length === 0) throw CliError.nothingFound(arg, catalogUrl(config));
  const pick = opts.pick === undefined ? undefined : Number(opts.pick);
  if (pick !== undefined && !(Number.isInteger(pick) && pick >= 1))
    throw CliError.usage('--pick: expected a number from 1');
  const chosen = await pickResult(res.results, { first: opts.first ?? false, ...(pick ? { pick } : {}) });
  return {
    // The catalog's duration sizes the engine's readahead for formats whose header it cannot read.
    body: {
      magnet: chosen.entry.magnet,
      ...(chosen.entry.durationSeconds !== undefined
        ? { durationSeconds: chosen.entry.durationSeconds }
        : {}),
    },
    infohash: chosen.entry.infohash,
    title: chosen.entry.title,
    // Signed with the entry, made from the same torrent by `dream-cli upload`.
    ...(chosen.entry.files.length > 0
      ? { files: chosen.entry.files, filesFrom: `the catalog entry "${chosen.entry.title}"` }
      : {}),
  };
}

/**
 * A torrent paused earlier (`POST .../pause`, the web UI): asking to stream it is asking for it
 * now. Left paused, the player would wait for pieces that never come, then time out. A file already
 * complete on disk plays from there: then the torrent stays paused (no upload restarted). Without
 * `playedPath` (a magnet's files are listed later) it is resumed.
 */
async function resumeIfPaused(engine: EngineApi, infohash: string, playedPath: string | undefined) {
  const existing = await engine.detail(infohash);
  if (existing.state !== 'paused') return;
  const onDisk = existing.files.find((f) => !f.pad && f.path === playedPath);
  if (onDisk && onDisk.bytes === onDisk.length) return;
  await engine.resume(infohash);
  process.stderr.write(`${existing.name ?? infohash} was paused in dream-torrent: resumed\n`);
}

/** ': <message>' from the stream server's error body, or nothing. */
function streamMessage(body: string): string {
  const message = errorOf(body)?.message;
  return message ? `: ${message}` : '';
}

function status(s: TorrentSummary | undefined, started: number): string {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (!s) return `buffering ${secs}s`;
  const what = s.state === 'metadata' ? 'fetching metadata' : 'buffering';
  return `${what}: ${s.peers} peer${s.peers === 1 ? '' : 's'}, ${bytes(s.downloadRate)}/s, ${(s.progress * 100).toFixed(1)}% (${secs}s)`;
}

export function registerStreamCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('stream')
    .description('find a video by title (or magnet, infohash, .torrent) and play it while it downloads')
    .argument('<query>', 'title words, a magnet link, an infohash, or a .torrent file')
    .option('--first', 'play the best match without asking')
    .option('--pick <n>', 'play result number n without asking')
    .option('--player <player>', 'player to launch (default: general.player, mpv)')
    .option('--print-url', 'print the stream URL instead of launching a player')
    .option('--stdout', 'write the video bytes to stdout (e.g. | mpv -)')
    .option(
      '--file <n|name>',
      'which file of a multi-file torrent: its number, or part of its name, e.g. e02 (default: the largest video)',
    )
    .option(
      '--peer <host:port>',
      'also connect to this peer (a friend seeding it, a LAN box); repeatable',
      (value: string, list: string[]) => [...list, value],
      [] as string[],
    )
    .action(async (query: string, opts: StreamOptions) => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      if (opts.printUrl && opts.stdout) throw CliError.usage('choose one of --print-url and --stdout');
      for (const peer of opts.peer) {
        if (!parseHostPort(peer))
          throw CliError.usage(`--peer: expected host:port (or [v6 address]:port), found "${peer}"`);
      }
      const player = opts.player ?? config.general.player;
      // Check the player before any download starts: a missing player is the user's first fix.
      if (!opts.printUrl && !opts.stdout && !findExecutable(player)) throw CliError.playerMissing(player);

      const engine = new EngineApi(config);
      const target = await resolveTarget(query, opts, config, engine);
      // Chosen before the add when the files are known, so a wrong --file adds nothing.
      const known: ListedFile[] | undefined = target.files?.length
        ? listKnownFiles(engine.base, target.infohash, target.files)
        : undefined;
      const early = known ? selectFile(known, opts.file) : undefined;
      const peers = opts.peer.length > 0 ? { peers: opts.peer } : {};
      // Only what the stream reads is fetched (selection.ts): from a .torrent, chosen with the add.
      const selected = early && target.engineFiles ? fetchSelection(target.engineFiles, early.paths) : [];
      let addedHere = true;
      try {
        await engine.add({ ...target.body, ...peers, ...(selected.length > 0 ? { selected } : {}) });
      } catch (err) {
        if (!(err instanceof CliError && err.code === 'ENGINE_ALREADY_ADDED')) throw err;
        addedHere = false;
        if (opts.peer.length > 0) await engine.addPeers(target.infohash, opts.peer);
        await resumeIfPaused(engine, target.infohash, early?.paths[0]);
      }

      const started = Date.now();
      const tty = process.stderr.isTTY && !opts.stdout;
      const show = (line: string) => tty && process.stderr.write(`\r\x1b[K${line}`);
      const ticker = setInterval(() => {
        engine.detail(target.infohash).then(
          (d) => show(status(d, started)),
          () => {},
        );
      }, 500);
      const stopTicker = () => {
        clearInterval(ticker);
        if (tty) process.stderr.write('\r\x1b[K');
      };
      let url: string;
      let subtitles: string[];
      let paths: string[];
      if (early) ({ url, subtitles, paths } = early);
      else {
        try {
          // The listing waits for the metadata (a magnet's comes from peers).
          ({ url, subtitles, paths } = selectFile((await engine.files(target.infohash)).files, opts.file));
        } catch (err) {
          stopTicker();
          throw err;
        }
      }
      // Ask for the first byte: it opens a reader (priming head and tail) and returns once the
      // first verified piece is there, which is when a player gets its first bytes.
      const gaveUp = new AbortController();
      const firstPiece = httpText(url, { headers: { range: 'bytes=0-0' }, signal: gaveUp.signal })
        .then(
          (first) => {
            if (first.status !== 206 && first.status !== 200) {
              // A file chosen from a list the metadata then contradicted (a stale catalog entry).
              const mismatch =
                early && errorOf(first.body)?.code === 'FILE_NOT_FOUND'
                  ? `; the torrent's files are not those ${target.filesFrom} lists (\`dream-cli stream ${target.infohash}\` plays from the torrent's own list)`
                  : '';
              throw new CliError(
                'STREAM_FAILED',
                `the stream answered ${first.status}${streamMessage(first.body)}${mismatch}`,
                EXIT.unexpected,
              );
            }
          },
          (err: Error) => {
            if (gaveUp.signal.aborted) throw err;
            throw new CliError(
              'STREAM_FAILED',
              `the stream ended before its first bytes (${err.message}): dream-torrent stopped or removed the torrent, or exited`,
              EXIT.unexpected,
            );
          },
        )
        .finally(stopTicker);
      // A magnet or a catalog entry: narrowed once the first piece shows the metadata is in and the
      // file is the one the listing named. In the background: the player need not wait for it.
      const narrowed =
        addedHere && selected.length === 0
          ? firstPiece.then(
              () => narrowToStream(engine, target.infohash, paths),
              () => {},
            )
          : Promise.resolve();

      if (opts.printUrl || opts.stdout) {
        await firstPiece;
        await narrowed;
        if (opts.printUrl) {
          output(g, { url, subtitles, infohash: target.infohash, title: target.title }, () => url);
          return;
        }
        const res = await httpOpen(url, {});
        if (res.statusCode !== 200) {
          res.destroy();
          throw new CliError('STREAM_FAILED', `the stream answered ${res.statusCode}`, EXIT.unexpected);
        }
        await pipeline(res, process.stdout).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EPIPE') throw err; // the player closed its input: that is how it ends
        });
        return;
      }

      // The player starts now, not once the first piece is there: its own start-up (mpv: 150-270
      // ms here before it asks for a byte) overlaps the download, and the stream holds its first
      // request until verified bytes are there. The status line goes on until then. With the files
      // known beforehand (a .torrent, a catalog title) it does not wait for a magnet's metadata
      // either: the stream holds the request until the metadata is in, too.
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`playing ${target.title ?? target.infohash} in ${player}\n`);
      await playUntilExit(
        player,
        {
          url,
          ...(target.title ? { title: target.title } : {}),
          subtitles,
          cacheSeconds: config.general.player_cache_seconds,
        },
        firstPiece,
        gaveUp,
      );
    });
}

/**
 * Runs the player until it exits, and says how it ended. A stream that fails before its first piece
 * (the torrent was removed, storage failed) stops the player: it would wait for bytes that never
 * come. Ctrl-C (or a SIGTERM) stops the player too, and we leave as interrupted, not as failed.
 */
async function playUntilExit(
  player: string,
  play: PlayOptions,
  firstPiece: Promise<void>,
  gaveUp: AbortController,
): Promise<void> {
  let child: ReturnType<typeof launchPlayer> | undefined;
  let streamFailure: unknown;
  let firstBytesCame = false;
  firstPiece.then(
    () => {
      firstBytesCame = true;
    },
    (err: unknown) => {
      if (gaveUp.signal.aborted) return;
      streamFailure = err;
      child?.kill('SIGTERM');
    },
  );
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    child?.kill('SIGTERM');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const playerStarted = Date.now();
  let end: PlayerEnd;
  try {
    const launched = launchPlayer(player, play);
    child = launched;
    end = await new Promise<PlayerEnd>((resolve, reject) => {
      launched.once('exit', (code, signal) => resolve({ code, signal }));
      // A player that cannot be started at all (spawn's 'error' comes without an 'exit').
      launched.once('error', (err) =>
        reject(new CliError('PLAYER_FAILED', `could not start ${player}: ${err.message}`, EXIT.playerFailed)),
      );
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Whichever way the player went: stop waiting for the first piece, or the CLI would stay.
    gaveUp.abort();
  }
  if (streamFailure !== undefined) throw streamFailure;
  if (interrupted) throw new CliError('INTERRUPTED', `stopped ${player}`, EXIT.interrupted);
  if (end.code === 0) return;
  if (!firstBytesCame) {
    // The player gave up waiting (its own network timeout: 60 s for mpv) before a slow swarm
    // delivered the first piece.
    const waited = ((Date.now() - playerStarted) / 1000).toFixed(1);
    throw new CliError(
      'PLAYER_FAILED',
      `${player} ${describePlayerEnd(end)} after ${waited} s, before the stream's first bytes were there: the peers may be slow; try again, or use --print-url, which waits for them`,
      EXIT.playerFailed,
    );
  }
  throw new CliError('PLAYER_FAILED', `${player} ${describePlayerEnd(end)}`, EXIT.playerFailed);
}
