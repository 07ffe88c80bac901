// The web UI at dream-torrent's `/`, used as a user would in headless Chromium (driven over the
// DevTools protocol): the torrent list, playing a file in the page with its WebVTT subtitles,
// pause and resume, adding by infohash, a bad input's message, removing; and `dream-cli stream`'s
// journey in the page: search the catalog (with a typo), Play, the video plays from another
// engine that seeds it. The torrent's name is an HTML injection attempt: it must show as text and
// run nothing. The engines, the catalog store and the server are the daemon's own
// (test/streaming-helpers.ts startNode); nothing is mocked.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateSigningKey, signEntry } from '@dream/catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.js';
import { WEB_UI_CSP } from '../src/web-ui/routes.js';
import { EngineFleet } from './engine-fleet.js';
import { waitFor } from './peers/checks.js';
import { type DevToolsPage, openWithDevTools } from './peers/devtools.js';
import { makeFiles, makeTempDir, removeDir } from './peers/fixtures.js';
import { makeClip, type StreamingNode, startNode } from './streaming-helpers.js';

const HOSTILE_NAME = `<img src=x onerror="document.title='pwned'">`;
const OTHER_INFOHASH = 'ab'.repeat(20);

const js = JSON.stringify;

describe('the web UI', () => {
  let node: StreamingNode | undefined;
  let page: DevToolsPage | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    await page?.close();
    await node?.stop();
    if (dir) await removeDir(dir);
  });

  it('is served with a strict policy, to loopback names only', async () => {
    node ??= await startNode();
    const ui = await node.app.inject({ method: 'GET', url: '/', headers: { host: '127.0.0.1' } });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
    expect(ui.headers['content-security-policy']).toBe(WEB_UI_CSP);
    expect(WEB_UI_CSP).toContain("script-src 'self'");
    expect(WEB_UI_CSP).toContain("frame-ancestors 'none'");
    expect(ui.headers['x-content-type-options']).toBe('nosniff');
    const script = await node.app.inject({
      method: 'GET',
      url: '/ui/app.js',
      headers: { host: 'localhost' },
    });
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toContain('textContent');
    const rebound = await node.app.inject({ method: 'GET', url: '/', headers: { host: 'evil.example' } });
    expect(rebound.statusCode).toBe(403);
  });

  it('lists, plays, pauses, resumes, adds and removes torrents', async () => {
    node ??= await startNode();
    dir = await makeTempDir('dream-web-ui-');
    const folder = join(dir, HOSTILE_NAME);
    await mkdir(folder);
    await copyFile(await makeClip({ seconds: 10, faststart: true, bitrate: '1M' }), join(folder, 'clip.mp4'));
    await writeFile(join(folder, 'clip.vtt'), 'WEBVTT\n\n00:00.000 --> 00:09.000\nhello from the torrent\n');
    // Named as a video, but no browser can decode it.
    await writeFile(join(folder, 'z-broken.mp4'), Buffer.alloc(200_000, 0x5a));
    const shared = await node.engine.add({ path: folder });
    const infohash = shared.infohash;
    const state = (ih: string) => node!.engine.list().find((t) => t.infohash === ih)?.state;
    await waitFor(() => state(infohash) === 'seeding', 30_000, 'the folder to be checked');

    page = await openWithDevTools(`${node.baseUrl}/`);
    const row = `document.querySelector('li.torrent[data-infohash=${js(infohash)}]')`;

    // The name shows as the text it is, and nothing in it ran.
    const name = await page.waitFor<string>(`${row}?.querySelector('.name')?.textContent`, 30_000, 'the row');
    expect(name).toBe(HOSTILE_NAME);
    expect(await page.evaluate<number>(`document.querySelectorAll('img').length`)).toBe(0);
    expect(await page.evaluate<string>('document.title')).toBe('Dream');
    await page.waitFor(`${row}.dataset.state === 'seeding'`, 10_000, 'the seeding state');

    // Play: the video plays in the page from the stream route, with the subtitle file as a track.
    await page.waitFor(`${row}.querySelector('button.play')`, 10_000, 'the play button');
    await page.evaluate(`${row}.querySelector('button.play').click()`);
    const width = await page.waitFor<number>(
      `(() => { const v = document.getElementById('player'); return v.currentTime > 1 && v.videoWidth; })()`,
      30_000,
      'the video to play past 1 s',
    );
    expect(width).toBe(640);
    expect(
      await page.evaluate<string[]>(`[...document.querySelectorAll('#player track')].map((t) => t.label)`),
    ).toEqual([`${HOSTILE_NAME}/clip.vtt`]);
    expect(await page.evaluate<string>(`document.getElementById('now-playing').textContent`)).toBe(
      `${HOSTILE_NAME}/clip.mp4`,
    );

    // A file the browser cannot decode: the page says so and where else to play it.
    await page.evaluate(`${row}.querySelectorAll('button.play')[1].click()`);
    expect(
      await page.waitFor<string>(
        `document.querySelector('#message.error')?.textContent`,
        15_000,
        'the message',
      ),
    ).toBe(
      `This browser cannot play ${HOSTILE_NAME}/z-broken.mp4 (its format or codec): open its stream URL in mpv or VLC.`,
    );

    // Pause and resume, through the control API (same origin: let past its Origin check).
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(() => state(infohash) === 'paused', 10_000, 'the engine to pause the torrent');
    await page.waitFor(`${row}.querySelector('button.pause').textContent === 'Resume'`, 10_000, 'Resume');
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(() => state(infohash) === 'seeding', 10_000, 'the engine to resume the torrent');

    // Play on a paused torrent whose file is on disk: it plays from there, and stays paused.
    await page.waitFor(`${row}.querySelector('button.pause').textContent === 'Pause'`, 10_000, 'Pause');
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(() => state(infohash) === 'paused', 10_000, 'the engine to pause the torrent again');
    await page.evaluate(
      `(() => { const v = document.getElementById('player'); v.removeAttribute('src'); v.load(); return v.currentTime; })()`,
    );
    await page.evaluate(`${row}.querySelector('button.play').click()`);
    await page.waitFor(
      `document.getElementById('player').currentTime > 1`,
      30_000,
      'the paused torrent to play from disk',
    );
    expect(state(infohash)).toBe('paused');
    await page.waitFor(`${row}.querySelector('button.pause').textContent === 'Resume'`, 10_000, 'Resume');
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(() => state(infohash) === 'seeding', 10_000, 'the engine to resume the torrent');

    // A bad input: the engine's own message, shown as an error; nothing added.
    const submit = (text: string) =>
      page!.evaluate(
        `document.getElementById('add-input').value = ${js(text)}; document.querySelector('#add button').click()`,
      );
    await submit('not a magnet');
    const message = await page.waitFor<string>(
      `(() => { const m = document.querySelector('#message.error')?.textContent; return m?.includes('nfohash') && m; })()`,
      10_000,
      'the error message',
    );
    expect(message).toMatch(/infohash/i);
    expect(node.engine.list()).toHaveLength(1);

    // Add by infohash: it waits for its metadata (no peers here), listed as such.
    await submit(OTHER_INFOHASH);
    await waitFor(() => state(OTHER_INFOHASH) === 'metadata', 10_000, 'the engine to add the infohash');
    const other = `document.querySelector('li.torrent[data-infohash=${js(OTHER_INFOHASH)}]')`;
    expect(
      await page.waitFor<string>(`${other}?.querySelector('.facts')?.textContent`, 10_000, 'its row'),
    ).toMatch(/^fetching metadata/);
    expect(await page.evaluate<string>(`document.getElementById('message').textContent`)).toContain('Added');

    // Remove asks once more, then removes (keeping the files).
    await page.evaluate(`${other}.querySelector('button.remove').click()`);
    expect(state(OTHER_INFOHASH)).toBe('metadata');
    await page.evaluate(`${other}.querySelector('button.remove').click()`);
    await waitFor(() => state(OTHER_INFOHASH) === undefined, 10_000, 'the engine to remove the torrent');
    await page.waitFor(`!${other}`, 10_000, 'its row to go');
    expect(state(infohash)).toBe('seeding');
  });
});

describe('the web UI limits form', () => {
  let node: StreamingNode | undefined;
  let page: DevToolsPage | undefined;

  afterAll(async () => {
    await page?.close();
    await node?.stop();
  });

  it("shows the engine's live limits and sets them, in MiB/s, empty for none", async () => {
    node = await startNode();
    node.engine.setLimits({ download: 2 * 1024 * 1024, upload: 0 });
    page = await openWithDevTools(`${node.baseUrl}/`);
    const value = (id: string) => `document.getElementById(${js(id)}).value`;
    expect(await page.waitFor<string>(`${value('limit-down')} || undefined`, 30_000, 'the limits')).toBe('2');
    expect(await page.evaluate<string>(value('limit-up'))).toBe('');

    await page.evaluate(
      `document.getElementById('limit-down').value = '4'; document.getElementById('limit-up').value = '0.5';` +
        ` document.querySelector('#limits button').click()`,
    );
    await waitFor(
      () => node!.engine.limits().download === 4 * 1024 * 1024,
      10_000,
      'the engine to take the new limits',
    );
    expect(node.engine.limits()).toEqual({ download: 4 * 1024 * 1024, upload: 512 * 1024 });
    const message = await page.waitFor<string>(
      `document.getElementById('message').textContent || undefined`,
      10_000,
      'the confirmation',
    );
    expect(message).toBe('Limits set: download 4.0 MiB/s, upload 512.0 KiB/s, until dream-torrent restarts.');

    // Emptying a field lifts that limit. (The button stays disabled until the page's refresh after
    // the first change is done, after the message shows: a click before that would be ignored.)
    await page.waitFor(`!document.querySelector('#limits button').disabled`, 10_000, 'the button again');
    await page.evaluate(
      `document.getElementById('limit-down').value = ''; document.querySelector('#limits button').click()`,
    );
    await waitFor(() => node!.engine.limits().download === 0, 10_000, 'the download limit to go');
    expect(node.engine.limits().upload).toBe(512 * 1024);
  });
});

describe('the web UI file chooser', () => {
  const fleet = new EngineFleet('dream-web-ui-chooser-');
  beforeAll(() => fleet.setUp());
  afterAll(() => fleet.tearDown());

  /**
   * A folder `name` of `files` (each `size` bytes) seeded by its own engine, and added paused to a
   * fresh streaming node with that seeder as its peer, as a user would before choosing files.
   */
  async function pausedPack(name: string, files: string[], size: number) {
    await makeFiles(
      join(fleet.dir, `src-${name}`),
      files.map((f) => ({ path: `${name}/${f}`, size })),
    );
    const seeder = await fleet.engine(`seeder-${name}`, { trackers: false });
    const seeded = await seeder.add({ path: join(fleet.dir, `src-${name}`, name) });
    const torrent = seeder.torrent(seeded.infohash)?.meta?.torrent as Uint8Array;
    const node = await startNode();
    fleet.onTearDown(() => node.stop());
    await node.engine.add({ torrent }, { paused: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    return { node, ih: seeded.infohash };
  }

  it("sets which files a torrent fetches, keeps one, follows the engine's selection, and fetches only those", async () => {
    // 1 MiB each: every piece lies in one episode, so an unticked one gets no byte. Paused: nothing
    // comes down yet.
    const { node, ih } = await pausedPack('pack', ['e01.mkv', 'e02.mkv', 'e03.mkv'], 1024 * 1024);
    const engine = node.engine;
    const selectedPaths = () =>
      engine
        .detail(ih)
        .files.filter((f) => !f.pad && f.selected)
        .map((f) => f.path);

    const page = await openWithDevTools(`${node.baseUrl}/`);
    fleet.onTearDown(() => page.close());
    const row = `document.querySelector('li.torrent[data-infohash=${js(ih)}]')`;
    const box = (e: string) => `${row}.querySelector('input.fetch[data-path=${js(`pack/${e}`)}]')`;
    const boxes = () =>
      page.evaluate<boolean[]>(`[...${row}.querySelectorAll('input.fetch')].map((b) => b.checked)`);
    await page.waitFor(`${row}?.querySelectorAll('input.fetch').length === 3`, 30_000, 'three checkboxes');
    expect(await boxes()).toEqual([true, true, true]);

    await page.evaluate(`${box('e03.mkv')}.click()`);
    await waitFor(() => selectedPaths().length === 2, 10_000, 'e03 to be unselected');
    expect(selectedPaths()).toEqual(['pack/e01.mkv', 'pack/e02.mkv']);
    // The engine has the change before the page has the answer: wait for the page's word.
    await page.waitFor(
      `document.getElementById('message').textContent === 'Fetching 2 of 3 files.'`,
      10_000,
      'the message',
    );
    await page.waitFor(`!${box('e02.mkv')}.disabled`, 10_000, 'the boxes to be enabled again');
    await page.evaluate(`${box('e02.mkv')}.click()`);
    await waitFor(() => selectedPaths().length === 1, 10_000, 'e02 to be unselected');
    // The last one stays: nothing selected is what Pause is for.
    await page.waitFor(`!${box('e01.mkv')}.disabled`, 10_000, 'the boxes to be enabled again');
    await page.evaluate(`${box('e01.mkv')}.click()`);
    expect(await page.evaluate<string>(`document.querySelector('#message.error')?.textContent`)).toBe(
      'Keep at least one file fetched, or pause the torrent.',
    );
    expect(await boxes()).toEqual([true, false, false]);
    expect(selectedPaths()).toEqual(['pack/e01.mkv']);

    // A selection changed elsewhere (dream-cli, the API) shows in the boxes.
    engine.selectFilePaths(ih, ['pack/e01.mkv', 'pack/e02.mkv']);
    await page.waitFor(`${box('e02.mkv')}.checked`, 10_000, 'e02 ticked from the engine');
    expect(await boxes()).toEqual([true, true, false]);

    // Resumed: the two chosen episodes come down, the third not at all.
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(
      () =>
        engine.detail(ih).files.filter((f) => f.path.startsWith('pack/e0') && f.bytes === f.length).length ===
        2,
      30_000,
      'e01 and e02 to download',
    );
    const bytes = Object.fromEntries(engine.detail(ih).files.map((f) => [f.path, f.bytes]));
    expect(bytes).toEqual({ 'pack/e01.mkv': 1024 * 1024, 'pack/e02.mkv': 1024 * 1024, 'pack/e03.mkv': 0 });
  });
  it('is not flipped back by a refresh asked for before the change and answered after it', async () => {
    const { node, ih } = await pausedPack('pair', ['a.mkv', 'b.mkv'], 256 * 1024);
    const page = await openWithDevTools(`${node.baseUrl}/`);
    fleet.onTearDown(() => page.close());
    const row = `document.querySelector('li.torrent[data-infohash=${js(ih)}]')`;
    const boxB = `${row}.querySelector('input.fetch[data-path=${js('pair/b.mkv')}]')`;
    await page.waitFor(`${row}?.querySelectorAll('input.fetch').length === 2`, 30_000, 'two checkboxes');

    // Hold the page's next GET /api/torrents: the engine answers it now (both files selected), the
    // page gets the answer only when released, after the user's change.
    await page.evaluate(`(() => {
      window.heldRefreshes = [];
      const fetchNow = window.fetch;
      window.fetch = (path, init) => {
        const answer = fetchNow(path, init);
        if (path !== '/api/torrents' || init?.method !== 'GET' || !window.holdRefreshes) return answer;
        return new Promise((resolve) => window.heldRefreshes.push(() => resolve(answer)));
      };
      window.holdRefreshes = true;
    })()`);
    await page.waitFor('window.heldRefreshes.length > 0', 10_000, 'a refresh on its way');
    await page.evaluate(`${boxB}.click()`);
    await waitFor(
      () => node.engine.detail(ih).files.filter((f) => f.selected).length === 1,
      10_000,
      'b unselected',
    );
    // Released: the stale answer (b selected) arrives after the change. Read the box at once,
    // before the next refresh would set it right anyway.
    const afterStale = await page.evaluate<boolean>(`(async () => {
      window.holdRefreshes = false;
      for (const release of window.heldRefreshes.splice(0)) release();
      await new Promise((r) => setTimeout(r, 50));
      return ${boxB}.checked;
    })()`);
    expect(afterStale).toBe(false);
    await page.waitFor(
      `document.getElementById('message').textContent === 'Fetching 1 of 2 files.'`,
      10_000,
      'the message',
    );
    expect(await page.evaluate<boolean>(`${boxB}.checked`)).toBe(false);
  }, 60_000);
});

describe('the web UI with many subtitles', () => {
  const fleet = new EngineFleet('dream-web-ui-tracks-');
  beforeAll(() => fleet.setUp());
  afterAll(() => fleet.tearDown());

  it('gives the player at most 40 subtitle tracks, as dream-cli gives mpv, and still plays', async () => {
    const folder = join(fleet.dir, 'subs pack');
    await mkdir(folder);
    await copyFile(await makeClip({ seconds: 10, faststart: true, bitrate: '1M' }), join(folder, 'clip.mp4'));
    for (let i = 0; i < 45; i++) {
      const n = String(i).padStart(2, '0');
      await writeFile(join(folder, `clip.${n}.vtt`), `WEBVTT\n\n00:00.000 --> 00:09.000\ntrack ${n}\n`);
    }
    const node = await startNode();
    fleet.onTearDown(() => node.stop());
    const shared = await node.engine.add({ path: folder });
    await waitFor(
      () => node.engine.list().find((t) => t.infohash === shared.infohash)?.state === 'seeding',
      30_000,
      'the folder to be checked',
    );
    const page = await openWithDevTools(`${node.baseUrl}/`);
    fleet.onTearDown(() => page.close());
    const row = `document.querySelector('li.torrent[data-infohash=${js(shared.infohash)}]')`;
    await page.waitFor(`${row}?.querySelector('button.play')`, 30_000, 'the play button');
    await page.evaluate(`${row}.querySelector('button.play').click()`);
    await page.waitFor(
      `document.getElementById('player').currentTime > 1`,
      30_000,
      'the video to play past 1 s',
    );
    const labels = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#player track')].map((t) => t.label)`,
    );
    expect(labels.length).toBe(40);
    expect(labels[0]).toBe('subs pack/clip.00.vtt');
  });
});

describe('the web UI with a catalog', () => {
  const fleet = new EngineFleet('dream-web-ui-catalog-');
  let node: StreamingNode | undefined;
  let seeder: Engine | undefined;
  let page: DevToolsPage | undefined;
  beforeAll(() => fleet.setUp());

  afterAll(async () => {
    await page?.close();
    await node?.stop();
    await fleet.tearDown();
  });

  it('finds a title despite a typo and plays it from a peer, as dream-cli stream does', async () => {
    const folder = join(fleet.dir, 'seeded', 'Big Buck Test');
    await mkdir(folder, { recursive: true });
    await copyFile(await makeClip({ seconds: 10, faststart: true, bitrate: '1M' }), join(folder, 'film.mp4'));
    await writeFile(join(folder, 'notes.txt'), 'not the video\n');
    // Listed first, smaller: the page must choose the film, not the first video.
    await copyFile(
      await makeClip({ seconds: 2, faststart: true, bitrate: '1M' }),
      join(folder, 'a-trailer.mp4'),
    );
    seeder = await fleet.engine('seeder', { trackers: false });
    const seeded = await seeder.add({ path: folder });
    const detail = seeder.detail(seeded.infohash);
    const files = detail.files.filter((f) => !f.pad).map((f) => ({ path: f.path, size: f.length }));

    node = await startNode({ catalog: true });
    // The entry dream-cli upload would publish: the uploader's address as the magnet's peer hint.
    await node.catalog!.put(
      signEntry(generateSigningKey(), {
        infohash: seeded.infohash,
        title: 'Big Buck Test',
        magnet: `magnet:?xt=urn:btih:${seeded.infohash}&dn=Big+Buck+Test&x.pe=127.0.0.1:${seeder.port}`,
        files,
        durationSeconds: 10,
      }),
    );

    page = await openWithDevTools(`${node.baseUrl}/`);
    await page.waitFor(`document.body.dataset.ready`, 30_000, 'the page');
    // The front page shows what was published last, before any search.
    expect(
      await page.waitFor<string>(
        `document.querySelector('#results .result .title')?.textContent`,
        10_000,
        'recent',
      ),
    ).toBe('Big Buck Test');
    expect(await page.evaluate<string>(`document.getElementById('results-title').textContent`)).toBe(
      'Recently published',
    );
    await page.evaluate(
      `document.getElementById('search-input').value = 'big bukc'; document.querySelector('#search button').click()`,
    );
    await page.waitFor(
      `document.getElementById('results-title').textContent === 'Results for "big bukc"'`,
      10_000,
      'the search results',
    );
    const title = await page.evaluate<string>(
      `document.querySelector('#results .result .title')?.textContent`,
    );
    expect(title).toBe('Big Buck Test');
    expect(node.engine.list()).toEqual([]); // searching adds nothing

    await page.evaluate(`document.querySelector('#results .result button.watch').click()`);
    const width = await page.waitFor<number>(
      `(() => { const v = document.getElementById('player'); return v.currentTime > 1 && v.videoWidth; })()`,
      30_000,
      'the video to play past 1 s',
    );
    expect(width).toBe(640);
    // The largest video of the entry, not the first file; from the seeder, through this engine.
    const fileIndex = files.findIndex((f) => f.path.endsWith('film.mp4'));
    expect(fileIndex).toBeGreaterThan(0);
    expect(await page.evaluate<string>(`new URL(document.getElementById('player').src).pathname`)).toBe(
      `/stream/${seeded.infohash}/${fileIndex}`,
    );
    const added = node.engine.list().find((t) => t.infohash === seeded.infohash);
    expect(added?.downloaded).toBeGreaterThan(0);
    // Only the film is fetched, as dream-cli stream does: not the trailer, not the notes.
    const selectedFiles = () =>
      node!.engine
        .detail(seeded.infohash)
        .files.filter((f) => f.selected && !f.pad)
        .map((f) => f.path.split('/').pop());
    for (let i = 0; i < 100 && selectedFiles().length !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(selectedFiles()).toEqual(['film.mp4']);

    // A search nothing matches says so; a bad one gets the server's message.
    await page.evaluate(
      `document.getElementById('search-input').value = 'qqqzzz xxyy'; document.querySelector('#search button').click()`,
    );
    expect(
      await page.waitFor<string>(
        `document.getElementById('message').textContent.includes('No video matches') && document.getElementById('message').textContent`,
        10_000,
        'the no-match message',
      ),
    ).toBe('No video matches "qqqzzz xxyy".');
    expect(await page.evaluate<number>(`document.querySelectorAll('#results .result').length`)).toBe(0);
  });

  it('resumes a title the user had paused before its metadata came, and plays it', async () => {
    const folder = join(fleet.dir, 'seeded', 'Paused Test');
    await mkdir(folder, { recursive: true });
    await copyFile(
      await makeClip({ seconds: 6, faststart: true, bitrate: '1M' }),
      join(folder, 'paused.mp4'),
    );
    const seeded = await seeder!.add({ path: folder });
    const files = seeder!
      .detail(seeded.infohash)
      .files.filter((f) => !f.pad)
      .map((f) => ({ path: f.path, size: f.length }));
    const magnet = `magnet:?xt=urn:btih:${seeded.infohash}&dn=Paused+Test&x.pe=127.0.0.1:${seeder!.port}`;
    await node!.catalog!.put(
      signEntry(generateSigningKey(), { infohash: seeded.infohash, title: 'Paused Test', magnet, files }),
    );
    // Added and paused before anything came: no metadata, no peer.
    await node!.engine.add({ magnet }, { paused: true });
    const state = () => node!.engine.list().find((t) => t.infohash === seeded.infohash)?.state;
    expect(state()).toBe('paused');

    await page!.evaluate(
      `document.getElementById('search-input').value = 'paused test'; document.querySelector('#search button').click()`,
    );
    await page!.waitFor(
      `document.getElementById('results-title').textContent === 'Results for "paused test"'`,
      10_000,
      'the search results',
    );
    await page!.evaluate(
      `(() => { const v = document.getElementById('player'); v.removeAttribute('src'); v.load(); return v.currentTime; })()`,
    );
    await page!.evaluate(`document.querySelector('#results .result button.watch').click()`);
    await page!.waitFor(
      `document.getElementById('player').currentTime > 1`,
      30_000,
      'the paused title to play once resumed',
    );
    expect(state()).not.toBe('paused');
    expect(await page!.evaluate<string>(`document.getElementById('message').textContent`)).toBe(
      'Paused Test was paused: resumed to play Paused Test/paused.mp4.',
    );
  });

  it('searches and browses only for its own pages, with clear errors', async () => {
    node ??= await startNode({ catalog: true });
    const get = (url: string, headers: Record<string, string> = {}) =>
      node!.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1', ...headers } });
    const foreign = await get('/api/catalog/search?q=film', { origin: 'http://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('forbidden-origin');
    const empty = await get('/api/catalog/search?q=%20');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toMatch(/^q: give 1 to 256 characters/);
    const huge = await get('/api/catalog/search?q=film&limit=1000');
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.message).toMatch(/^limit:/);
    const ok = await get('/api/catalog/search?q=film');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ results: expect.any(Array) });
    expect((await get('/api/catalog/recent?limit=0')).json().error.message).toMatch(/^limit: an integer/);
    const recent = await get('/api/catalog/recent');
    expect(recent.statusCode).toBe(200);
    expect(recent.json()).toMatchObject({ entries: expect.any(Array) });
  });
});

describe('a bootstrap node that is broken or hostile', () => {
  let node: StreamingNode | undefined;
  let catalog: http.Server | undefined;

  afterAll(async () => {
    await node?.stop();
    catalog?.close();
  });

  it('gets only well-formed, correctly signed entries to the page, and unreachable says so', async () => {
    // A real HTTP server on loopback that answers like a catalog service, with what a broken or
    // hostile one could send (a real one refuses these on the way in).
    const key = generateSigningKey();
    const ih = (c: string) => c.repeat(40);
    const entry = (infohash: string, title: string, magnetHash = infohash) =>
      signEntry(key, {
        infohash,
        title,
        magnet: `magnet:?xt=urn:btih:${magnetHash}&dn=x`,
        files: [{ path: 'film.mp4', size: 1000 }],
      });
    const good = entry(ih('a'), 'The good film');
    const forged = { ...entry(ih('b'), 'Forged film'), title: 'Forged film, retitled after signing' };
    const otherMagnet = entry(ih('c'), 'Magnet for another torrent', ih('d'));
    const noFiles = { ...entry(ih('e'), 'No files'), files: undefined };
    const sent = [good, forged, otherMagnet, noFiles, null, 'text'];
    catalog = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/search')) {
        res.end(JSON.stringify({ total: 9, results: sent.map((e) => ({ entry: e, score: 1 })) }));
      } else if (req.url?.startsWith('/recent')) res.end(JSON.stringify({ entries: sent }));
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => catalog!.listen(0, '127.0.0.1', r));
    const catalogUrl = `http://127.0.0.1:${(catalog.address() as AddressInfo).port}`;
    node = await startNode({ catalogUrl });
    const get = (url: string) => node!.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1' } });

    const search = (await get('/api/catalog/search?q=film')).json();
    expect(search.results.map((r: { entry: { title: string } }) => r.entry.title)).toEqual(['The good film']);
    expect(search.total).toBe(4); // the catalog's 9, less the 5 entries dropped here
    const recent = (await get('/api/catalog/recent')).json();
    expect(recent.entries.map((e: { title: string }) => e.title)).toEqual(['The good film']);

    await new Promise<void>((r) => catalog!.close(() => r()));
    catalog = undefined;
    const down = await get('/api/catalog/search?q=film');
    expect(down.statusCode).toBe(502);
    expect(down.json().error.code).toBe('catalog-unreachable');
    expect(down.json().error.message).toContain(catalogUrl);
    expect(down.json().error.message).toContain('is network.catalog_url right?');
  });
});
