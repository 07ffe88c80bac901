// Issue 4, "any player": a real browser. Headless Chromium (Debian's) opens a web page that embeds
// a Dream stream URL in a <video> element, as a web app on another origin would, while the torrent
// downloads from a capped libtorrent seeder whose MP4 keeps its moov at the end. The page reports
// what the viewer would see (playing, the picture's width, the time after a seek to 70%) to the
// test's own loopback server. No CORS header is configured: a <video> needs none to play, and a page
// on 127.0.0.1 is the same site as the stream server. A page on another site (localhost is not the
// site 127.0.0.1) gets its stream only when the user put its origin in stream.cors_origins: a page
// anywhere must not learn, by embedding stream URLs, which torrents this computer has.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './peers/checks.js';
import { type OpenPage, openInChromium } from './peers/chromium.js';
import {
  addSeed,
  connectSeed,
  KiB,
  MiB,
  makeClip,
  type Seed,
  seedExistingFile,
  spyReaders,
  startNode,
  streamUrl,
  torrentSummary,
} from './streaming-helpers.js';

// 30 s of 640x360 H.264 at 2 Mbit/s, about 7 MiB, moov last; at 1 MiB/s it takes ~7 s to arrive.
const CLIP = { seconds: 30, faststart: false, bitrate: '2M' };
const CAP = 1 * MiB;
const SEEK_TO = 21; // 70% of 30 s

let seed: Seed | undefined;

beforeAll(async () => {
  seed = await seedExistingFile(await makeClip(CLIP), { pieceLength: 256 * KiB, uploadLimit: CAP });
}, 120_000);

afterAll(async () => {
  await seed?.stop();
});

/** The page: plays `src`, reports events to its own origin, seeks to SEEK_TO once past 1 s. */
function page(src: string): string {
  return `<!doctype html><meta charset=utf-8><title>Dream in a page</title>
<video id=v muted autoplay preload=auto src=${JSON.stringify(src)}></video>
<script>
const v = document.getElementById('v');
const report = (what) => fetch('/report?' + new URLSearchParams(what));
v.addEventListener('playing', () => report({ event: 'playing', width: v.videoWidth, time: v.currentTime }));
v.addEventListener('timeupdate', () => {
  if (v.currentTime > 1 && !window.sought) { window.sought = true; v.currentTime = ${SEEK_TO}; }
});
v.addEventListener('seeked', () => report({ event: 'seeked', time: v.currentTime }));
v.addEventListener('error', () => report({ event: 'error', code: v.error && v.error.code }));
</script>`;
}

interface Report {
  event: string;
  width?: string;
  time?: string;
  code?: string;
  /** The torrent's progress when the report arrived. */
  progress: number;
}

describe('a browser playing a stream embedded in a web page', () => {
  let browser: OpenPage | undefined;

  afterAll(async () => {
    await browser?.close();
  });

  it('plays while the torrent downloads, and lands a seek to 70%', async () => {
    const s = seed!;
    const node = await startNode();
    const site = http.createServer();
    try {
      const torrent = await addSeed(node, s, false);
      const readers = spyReaders(torrent);
      const reports: Report[] = [];
      site.on('request', async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://site');
        if (url.pathname === '/report') {
          // The page may still report (a media error when the stream server goes away) after the
          // test stopped the node: a late report is dropped, not an unhandled rejection.
          try {
            const { progress } = await torrentSummary(node, s.infoHash);
            reports.push({ ...(Object.fromEntries(url.searchParams) as { event: string }), progress });
          } catch {
            res.statusCode = 503;
          }
          res.end();
        } else if (url.pathname === '/') {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(page(streamUrl(node, s.infoHash, 0)));
        } else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
      browser = await openInChromium(siteUrl);
      const started = () => {
        browser!.check();
        return readers.ever.size > 0;
      };
      // The seeder joins once the browser's first request opened a reader: everything that comes
      // is what the page asked for, plus the head and tail priming.
      await waitFor(started, 60_000, 'Chromium to open the stream');
      connectSeed(node, s);
      await waitFor(
        () => reports.some((r) => r.event === 'seeked' || r.event === 'error'),
        90_000,
        'the seek',
      );
      expect(reports.filter((r) => r.event === 'error')).toEqual([]);
      const playing = reports.find((r) => r.event === 'playing');
      expect(playing?.width).toBe('640');
      expect(playing!.progress).toBeLessThan(1); // it played before the download was complete
      const seeked = reports.find((r) => r.event === 'seeked')!;
      expect(Number(seeked.time)).toBeGreaterThanOrEqual(SEEK_TO - 2.5); // keyframes every 2 s
      expect(Number(seeked.time)).toBeLessThanOrEqual(SEEK_TO + 0.5);
    } finally {
      await browser?.close();
      browser = undefined;
      site.close();
      await node.stop();
    }
  });
});

describe('a page on another site', () => {
  let browser: OpenPage | undefined;
  const sites: http.Server[] = [];
  /** The stream URL both sites' pages embed (known once the torrent is added). */
  let src = '';

  afterAll(async () => {
    await browser?.close();
    for (const site of sites) site.close();
  });

  /** A site on localhost:<port> whose page embeds `src` and reports what its <video> did. */
  async function startSite(reports: Record<string, string>[]): Promise<string> {
    const site = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://site');
      if (url.pathname === '/report') reports.push(Object.fromEntries(url.searchParams));
      if (url.pathname !== '/') return res.end();
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><video id=v muted autoplay src=${JSON.stringify(src)}></video><script>
const v = document.getElementById('v');
const report = (what) => fetch('/report?' + new URLSearchParams(what));
v.addEventListener('playing', () => report({ event: 'playing', width: v.videoWidth }));
v.addEventListener('error', () => report({ event: 'error', code: v.error && v.error.code }));
</script>`);
    });
    sites.push(site);
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    return `http://localhost:${(site.address() as AddressInfo).port}`;
  }

  async function openAndWait(origin: string, reports: Record<string, string>[]): Promise<void> {
    await browser?.close();
    browser = await openInChromium(`${origin}/`);
    await waitFor(
      () => {
        browser!.check();
        return reports.length > 0;
      },
      60_000,
      `the page on ${origin} to report`,
    );
  }

  it('cannot embed a stream unless its origin is in stream.cors_origins', async () => {
    const strangerReports: Record<string, string>[] = [];
    const friendReports: Record<string, string>[] = [];
    const stranger = await startSite(strangerReports);
    const friend = await startSite(friendReports);
    const node = await startNode({ corsOrigins: [friend] });
    try {
      const clip = await makeClip({ seconds: 10, faststart: true, bitrate: '1M' });
      const { infohash } = await node.engine.add({ path: clip });
      src = streamUrl(node, infohash, 0);
      const answers: { page: string | undefined; status: number }[] = [];
      node.app.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!req.url?.startsWith('/stream/')) return;
        res.on('finish', () => answers.push({ page: req.headers.referer, status: res.statusCode }));
      });

      await openAndWait(stranger, strangerReports);
      expect(strangerReports[0]).toMatchObject({ event: 'error' });
      // The browser did ask, and was refused: the page cannot tell a torrent we have from one we lack.
      expect(answers.filter((a) => a.page === `${stranger}/`).map((a) => a.status)).toContain(403);
      expect(answers.filter((a) => a.page === `${stranger}/` && a.status !== 403)).toEqual([]);

      await openAndWait(friend, friendReports);
      expect(friendReports[0]).toEqual({ event: 'playing', width: '640' });
    } finally {
      await node.stop();
    }
  });
});
