// Safe by default: a web page the user happens to visit must not drive their dream-torrent. The Host
// check stops DNS rebinding, but a page on another origin can still send "simple" requests to
// 127.0.0.1 (a POST without a body, a text/plain body, a form) that need no CORS preflight: the
// browser sends them and only hides the answer. Headless Chromium (Debian's) opens such a page,
// served by the test on another loopback port; it tries to pause a torrent, to make the node seed a
// private folder (a JSON body smuggled as text/plain, by fetch and by a form), and to remove the
// torrent. The test watches what reached the server, so it proves the browser sent them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './peers/checks.js';
import { type OpenPage, openInChromium } from './peers/chromium.js';
import { makeFiles, makeTempDir, removeDir } from './peers/fixtures.js';
import { startNode } from './streaming-helpers.js';

/** The page: fires the requests, then tells its own origin it is done. */
function page(api: string, infohash: string, privateDir: string): string {
  const smuggled = JSON.stringify({ path: privateDir });
  // A text/plain form sends `name=value`: the name opens the JSON, the value closes it.
  const formName = `${smuggled.slice(0, -1)},"x":"`;
  return `<!doctype html><meta charset=utf-8><title>some other site</title>
<iframe name=sink></iframe>
<form id=f method=post target=sink enctype=text/plain action=${JSON.stringify(`${api}/api/torrents`)}>
<input type=hidden name=${JSON.stringify(formName).replace(/"/g, '&quot;')} value='"}'></form>
<script>
const api = ${JSON.stringify(api)};
(async () => {
  await Promise.allSettled([
    fetch(api + '/api/torrents/${infohash}/pause', { method: 'POST', mode: 'no-cors' }),
    fetch(api + '/api/torrents', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(smuggled)} }),
    fetch(api + '/api/torrents/${infohash}', { method: 'DELETE' }),
  ]);
  const sink = document.querySelector('iframe');
  sink.onload = () => fetch('/report?event=done');
  document.getElementById('f').submit();
})();
</script>`;
}

interface Seen {
  method: string;
  url: string;
  origin: string | undefined;
}

describe('a web page on another origin', () => {
  let browser: OpenPage | undefined;

  afterAll(async () => {
    await browser?.close();
  });

  it('cannot pause, add or remove torrents through the control API', async () => {
    const node = await startNode();
    const dir = await makeTempDir('dream-csrf-');
    const site = http.createServer();
    try {
      const [video] = await makeFiles(join(dir, 'shared'), [{ path: 'clip.mp4', size: 300_000 }]);
      const privateDir = join(dir, 'private');
      await makeFiles(privateDir, [{ path: 'diary.txt', size: 1_000 }]);
      const shared = await node.engine.add({ path: video! });
      await waitFor(
        () => node.engine.list().some((t) => t.state === 'seeding'),
        30_000,
        'the shared file to be checked',
      );

      const seen: Seen[] = [];
      node.app.server.on('request', (req: http.IncomingMessage) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', origin: req.headers.origin });
      });
      let done = false;
      site.on('request', (req, res) => {
        const url = new URL(req.url ?? '/', 'http://site');
        if (url.pathname === '/report') done = true;
        if (url.pathname === '/') {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(page(node.baseUrl, shared.infohash, privateDir));
        } else res.end();
      });
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      const siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      browser = await openInChromium(`${siteOrigin}/`);
      await waitFor(
        () => {
          browser!.check();
          return done;
        },
        60_000,
        'the page to send its requests',
      );

      // What the browser sent (so the assertions below are about the server, not the browser).
      const posts = seen.filter((s) => s.method === 'POST');
      expect(posts.map((s) => s.url).sort()).toEqual(
        ['/api/torrents', '/api/torrents', `/api/torrents/${shared.infohash}/pause`].sort(),
      );
      for (const s of posts) expect(s.origin).toBe(siteOrigin);
      // A DELETE needs a preflight, which the server does not grant: it never arrives.
      expect(seen.filter((s) => s.method === 'DELETE')).toEqual([]);

      // What the user would check: the torrent still seeds, nothing private is shared.
      expect(node.engine.list().map((t) => [t.infohash, t.state])).toEqual([[shared.infohash, 'seeding']]);
    } finally {
      site.close();
      await node.stop();
      await removeDir(dir);
    }
  });
});
