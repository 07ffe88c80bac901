// The web UI at dream-torrent's `/`, used as a user would in headless Chromium (driven over the
// DevTools protocol): the torrent list, playing a file in the page with its WebVTT subtitles,
// pause and resume, adding by infohash, a bad input's message, removing. The torrent's name is an
// HTML injection attempt: it must show as text and run nothing. The engine and its server are the
// daemon's own (test/streaming-helpers.ts startNode); nothing is mocked.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WEB_UI_CSP } from '../src/web-ui/routes.js';
import { waitFor } from './peers/checks.js';
import { type DevToolsPage, openWithDevTools } from './peers/devtools.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';
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

    // Pause and resume, through the control API (same origin: let past its Origin check).
    await page.evaluate(`${row}.querySelector('button.pause').click()`);
    await waitFor(() => state(infohash) === 'paused', 10_000, 'the engine to pause the torrent');
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
      `document.querySelector('#message.error')?.textContent`,
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
