/**
 * `dream-cli upload <file|folder|file.torrent> <title>`: hash (streamed, constant memory, with a
 * progress bar), seed in place through dream-torrent (the file is never moved or copied), and
 * publish a signed catalog entry. Running it again for the same content changes nothing but the
 * title: the infohash is the key everywhere.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { loadOrCreateSigningKey, signEntry } from '@dream/catalog/client';
import { loadConfig, parseHostPort } from '@dream/config';
import { CreateError, createTorrent } from '@dream/torrent-engine/create';
import { MetainfoError, parseTorrent, type TorrentMeta, toMagnet } from '@dream/torrent-engine/metainfo';
import type { Command } from 'commander';
import { withCatalog } from '../catalog.js';
import { EngineApi } from '../engine-api.js';
import { CliError, EXIT } from '../errors.js';
import { faststart } from '../ffmpeg.js';
import { progressBar } from '../format.js';
import { moovPosition } from '../mp4.js';
import { type GlobalOptions, output } from '../output.js';
import { probeMedia } from '../probe.js';

interface UploadOptions {
  faststart?: boolean;
  peerHint?: string;
  hybrid?: boolean;
}

export function registerUploadCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('upload')
    .description('seed a video (or folder, or .torrent) and publish it in the catalog under a title')
    .argument('<path>', 'a video file, a folder, or a .torrent file')
    .argument('<title>', 'the title people will search for')
    .option(
      '--faststart',
      'for an MP4 whose index (moov) is at the end: remux a copy with ffmpeg so it starts fast',
    )
    .option('--peer-hint <host:port>', 'an address viewers can reach this node at, put in the magnet')
    .option(
      '--hybrid',
      'publish a hybrid v1+v2 torrent (single files): seeks land sooner for Dream and libtorrent 2.x viewers; Transmission 3 cannot read it',
    )
    .action(async (pathArg: string, title: string, opts: UploadOptions) => {
      const g = globals();
      const { config } = loadConfig({ path: g.config });
      if (title.trim() === '')
        throw CliError.usage('the title is empty: give the words people will search for');
      const hint = opts.peerHint ? parseHostPort(opts.peerHint) : undefined;
      if (opts.peerHint && !hint)
        throw CliError.usage(`--peer-hint: expected host:port, found "${opts.peerHint}"`);
      let path = resolve(pathArg);
      const st = await stat(path).catch(() => undefined);
      if (!st) throw CliError.usage(`${pathArg}: no such file or folder`);

      const engine = new EngineApi(config);
      await engine.health(); // fail early, before hashing, when dream-torrent is down
      const notes: string[] = [];
      let meta: TorrentMeta;
      let torrentBytes: Uint8Array;
      const body: Record<string, unknown> = {};

      if (st.isFile() && extname(path).toLowerCase() === '.torrent') {
        torrentBytes = await readFile(path);
        try {
          meta = parseTorrent(torrentBytes);
        } catch (err) {
          if (err instanceof MetainfoError)
            throw CliError.usage(`${pathArg} is not a usable .torrent: ${err.message}`);
          throw err;
        }
        body.torrent = Buffer.from(torrentBytes).toString('base64');
      } else {
        if (st.isFile() && (await moovPosition(path)) === 'end') {
          if (opts.faststart) {
            const fixed = join(dirname(path), `${basename(path, extname(path))}.faststart${extname(path)}`);
            if (!(await stat(fixed).catch(() => undefined))) await faststart(path, fixed);
            notes.push(`remuxed with faststart: seeding ${fixed} (your original is untouched)`);
            path = fixed;
          } else {
            notes.push(
              'warning: this MP4 keeps its index (moov) at the end, so players must fetch the end first and start slower. ' +
                'Run again with --faststart to seed a remuxed copy.',
            );
          }
        }
        const bar = progressBar('hashing');
        let created: Awaited<ReturnType<typeof createTorrent>>;
        try {
          created = await createTorrent(path, {
            onProgress: (done, total) => bar.update(done, total),
            // A file written in the last 2 s (a --faststart copy, a recording just saved) is
            // waited for, not left for the daemon to hash again.
            settle: true,
            ...(opts.hybrid ? { hybrid: true } : {}),
          });
        } catch (err) {
          // What cannot be shared as asked (empty, an unportable name, a folder with --hybrid):
          // the user's to fix, said plainly; a file that changed while read: try again.
          if (err instanceof CreateError)
            throw new CliError(
              err.code,
              `${pathArg}: ${err.message}`,
              err.code === 'CHANGED' ? EXIT.unexpected : EXIT.usage,
            );
          throw err;
        } finally {
          bar.end();
        }
        ({ torrent: torrentBytes, meta } = created);
        body.torrent = Buffer.from(torrentBytes).toString('base64');
        body.path = path;
        // What this hashing verified, with each file's size and mtime as read: dream-torrent trusts
        // it where the files are unchanged, instead of reading the whole video a second time.
        body.hashed = { have: created.resume.have, files: created.resume.files };
      }

      let alreadySeeding = false;
      try {
        await engine.add(body);
      } catch (err) {
        if (!(err instanceof CliError && err.code === 'ENGINE_ALREADY_ADDED')) throw err;
        alreadySeeding = true;
      }

      const media = st.isFile() && !path.endsWith('.torrent') ? await probeMedia(path) : {};
      const magnet = toMagnet(meta, hint ? { peers: [hint] } : {});
      const key = await loadOrCreateSigningKey(config.general.state_dir);
      const published = await withCatalog(config, async (c) => {
        const existing = await c.get(meta.infohash);
        if (existing && existing.publicKey !== key.publicKey) {
          throw new CliError(
            'PUBLISHED_BY_ANOTHER_KEY',
            `This content (${meta.infohash}) is already in the catalog as "${existing.title}", published by another key. ` +
              'It is seeding from here too; only its publisher can change its entry.',
            EXIT.unexpected,
          );
        }
        const entry = signEntry(key, {
          infohash: meta.infohash,
          title,
          magnet,
          files: meta.files.filter((f) => !f.pad).map((f) => ({ path: f.path, size: f.length })),
          ...media,
          ...(existing ? { createdAt: existing.createdAt } : {}),
        });
        return c.add(entry);
      });

      const result = {
        infohash: meta.infohash,
        title,
        magnet,
        seeding: path,
        alreadySeeding,
        catalog: published.result,
        streamUrl: `${engine.base}/stream/${meta.infohash}/0`,
      };
      for (const n of notes) process.stderr.write(`${n}\n`);
      output(g, result, () =>
        [
          `${published.result === 'created' ? 'published' : 'updated'} "${title}"`,
          `infohash: ${meta.infohash}`,
          `magnet:   ${magnet}`,
          `seeding:  ${path}${alreadySeeding ? ' (was already seeding)' : ''}`,
        ].join('\n'),
      );
    });
}
