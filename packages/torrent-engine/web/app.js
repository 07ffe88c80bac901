// Dream's web UI (docs/design/web-ui.md): this dream-torrent's torrents, refreshed every second, with
// their files playable in the page and their stream URLs for mpv or VLC. It speaks only to the
// server that served it: the control API (/api, which refuses pages on other origins) and the
// stream routes (/stream). Torrent and file names are hostile input: they are only ever set as
// text (textContent), never parsed as HTML, and the server's Content-Security-Policy allows no
// inline script either.

const REFRESH_MS = 1000;
/** How long the "Remove?" confirmation stays armed. */
const CONFIRM_MS = 4000;
const PLAYABLE = /^(video|audio)\//;
/** What dream-cli stream picks by default too: the largest video file. */
const VIDEO_FILE = /\.(mp4|m4v|mkv|webm|mov|avi|ogv|ts|mpe?g|wmv|flv)$/i;
const SUBTITLE_FILE = /\.vtt$/i;
/** Subtitle tracks at most, as dream-cli stream: a torrent with thousands must not become thousands of tracks. */
const MAX_TRACKS = 40;
const NOT_ANSWERING = 'dream-torrent is not answering';

const rows = new Map(); // infohash -> { root, fields, files }
const listings = new Map(); // infohash -> Promise of the stream listing's files

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// dream-cli's format (packages/cli/src/format.ts), written again: the page has no build step to share it.
function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function say(text, isError = false) {
  const message = $('message');
  message.textContent = text;
  message.classList.toggle('error', isError);
}

/** JSON from this server; throws the API's own message (it says what to do) and code on an error. */
async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined;
  const json = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = new Error(json?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
    err.code = json?.error?.code;
    throw err;
  }
  return json;
}

function duration(seconds) {
  if (!(seconds > 0)) return undefined;
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return (hms[0] ? hms : hms.slice(1))
    .map((n, i) => (i === 0 ? String(n) : String(n).padStart(2, '0')))
    .join(':');
}

/** A stream URL from the listing, kept only if it points back at this server's /stream routes. */
function ownStreamUrl(text) {
  try {
    const url = new URL(text, location.href);
    return url.origin === location.origin && url.pathname.startsWith('/stream/') ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Plays `url` in the page, with the torrent's WebVTT files as subtitle tracks (browsers read no .srt). */
function play(title, url, subtitles) {
  $('player-section').hidden = false;
  $('now-playing').textContent = title;
  const video = $('player');
  video.replaceChildren(
    ...subtitles.map((s) => el('track', { kind: 'subtitles', src: s.url, label: s.path })),
  );
  video.src = url;
  video.play().catch(() => {}); // autoplay may be refused; the controls are there
  say('');
}

/**
 * The <video> says only "error": ask the stream for its first byte to tell the server's own message
 * (a file gone, a torrent removed) from a file this browser cannot decode (HEVC, some MKV, AVI).
 */
async function explainPlaybackError(video) {
  const title = $('now-playing').textContent;
  let why;
  try {
    const res = await fetch(video.currentSrc, { headers: { range: 'bytes=0-0' } });
    if (!res.ok) why = (await res.json().catch(() => undefined))?.error?.message ?? `HTTP ${res.status}`;
    else await res.body?.cancel();
  } catch (err) {
    why = err.message;
  }
  say(
    why
      ? `Cannot play ${title}: ${why}`
      : `This browser cannot play ${title} (its format or codec): open its stream URL in mpv or VLC.`,
    true,
  );
}

function act(button, action) {
  button.disabled = true;
  say('');
  action()
    .then(refresh)
    .catch((err) => say(err.message, true))
    .finally(() => {
      button.disabled = false;
    });
}

function fileItem(infohash, row, file, subtitles) {
  const url = ownStreamUrl(file.url);
  const item = el('li', {});
  if (row.fetchBoxes) {
    // Which files the torrent fetches: a season pack need not all come down.
    const box = el('input', {
      type: 'checkbox',
      class: 'fetch',
      'data-path': file.path,
      title: 'fetch this file',
      onchange: () => chooseFiles(infohash, row, box),
    });
    row.fetchBoxes.push(box);
    item.append(el('label', {}, box, 'fetch'));
  }
  item.append(el('span', { class: 'path', text: file.path }), el('span', { text: bytes(file.size) }));
  if (!url) return item;
  if (PLAYABLE.test(file.type)) {
    item.append(
      el('button', {
        type: 'button',
        class: 'play',
        'data-index': String(file.index),
        text: 'Play',
        // Resumed first if paused: the stream would otherwise wait for pieces that never come.
        onclick: () =>
          resumeFor(infohash, file.path).then(
            (resumed) => {
              play(file.path, url, subtitles);
              if (resumed) say(`${resumed} was paused: resumed to play ${file.path}.`);
            },
            (err) => say(err.message, true),
          ),
      }),
    );
  }
  item.append(el('a', { href: url, class: 'url', title: 'open in mpv or VLC', text: 'stream URL' }));
  return item;
}

async function showFiles(infohash, row) {
  if (!listings.has(infohash)) {
    listings.set(
      infohash,
      call('GET', `/stream/${infohash}/`).then((listing) => listing.files),
    );
  }
  try {
    const files = await listings.get(infohash);
    const subtitles = files
      .filter((f) => f.type.startsWith('text/vtt'))
      .slice(0, MAX_TRACKS)
      .map((f) => ({ path: f.path, url: ownStreamUrl(f.url) }))
      .filter((s) => s.url !== undefined);
    if (files.length > 1) {
      // The summary's selection is in the engine's file numbers, which count pad files: map them
      // to paths once, from the detail.
      const detail = await call('GET', `/api/torrents/${infohash}`);
      row.indexByPath = new Map(detail.files.filter((f) => !f.pad).map((f) => [f.path, f.index]));
      row.fetchBoxes = [];
    }
    row.files.replaceChildren(...files.map((f) => fileItem(infohash, row, f, subtitles)));
    if (row.summary) syncFetchBoxes(row, row.summary.t, row.summary.askedAt);
    row.files.append(el('li', {}, el('a', { href: `/stream/${infohash}.m3u`, text: 'playlist (.m3u)' })));
  } catch (err) {
    listings.delete(infohash);
    row.files.replaceChildren(el('li', { text: err.message }));
  }
}

/**
 * The torrent's selection as checkboxes: not while the user's change is on its way, nor from a
 * summary asked for before it was made (it would flip the boxes back for a refresh).
 */
function syncFetchBoxes(row, t, askedAt) {
  if (!row.fetchBoxes || row.choosing || askedAt < (row.chosenAt ?? 0)) return;
  for (const box of row.fetchBoxes) {
    box.checked = t.selected === 'all' || t.selected.includes(row.indexByPath.get(box.dataset.path));
  }
}

async function chooseFiles(infohash, row, box) {
  const paths = row.fetchBoxes.filter((b) => b.checked).map((b) => b.dataset.path);
  if (paths.length === 0) {
    box.checked = true;
    say('Keep at least one file fetched, or pause the torrent.', true);
    return;
  }
  row.choosing = true;
  for (const b of row.fetchBoxes) b.disabled = true;
  say('');
  try {
    await call('PUT', `/api/torrents/${infohash}/files`, { paths });
    row.chosenAt = performance.now();
    const all = row.fetchBoxes.length;
    say(paths.length === all ? `Fetching all ${all} files.` : `Fetching ${paths.length} of ${all} files.`);
  } catch (err) {
    say(err.message, true);
  } finally {
    row.choosing = false;
    for (const b of row.fetchBoxes) b.disabled = false;
  }
  await refresh();
}

function removeButton(infohash) {
  let armed;
  const button = el('button', { type: 'button', class: 'remove', text: 'Remove' });
  button.addEventListener('click', () => {
    if (!armed) {
      button.textContent = 'Remove? (keeps the files)';
      armed = setTimeout(() => {
        armed = undefined;
        button.textContent = 'Remove';
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = undefined;
    act(button, () => call('DELETE', `/api/torrents/${infohash}`));
  });
  return button;
}

function newRow(t) {
  const fields = {
    name: el('div', { class: 'name' }),
    facts: el('div', { class: 'facts' }),
    progress: el('progress', { max: '1' }),
    pause: el('button', { type: 'button', class: 'pause' }),
  };
  const files = el('ul', { class: 'files' });
  fields.pause.addEventListener('click', () => {
    const resume = fields.pause.dataset.action === 'resume';
    act(fields.pause, () => call('POST', `/api/torrents/${t.infohash}/${resume ? 'resume' : 'pause'}`));
  });
  const root = el(
    'li',
    { class: 'torrent', 'data-infohash': t.infohash },
    fields.name,
    fields.progress,
    fields.facts,
    el('div', { class: 'actions' }, fields.pause, removeButton(t.infohash)),
    files,
  );
  return { root, fields, files, listed: false };
}

function update(row, t, askedAt) {
  row.fields.name.textContent = t.name ?? t.infohash;
  row.fields.progress.value = t.progress;
  const facts = [
    t.state === 'metadata' ? 'fetching metadata' : t.state,
    `${(t.progress * 100).toFixed(1)}%`,
    t.length === undefined ? undefined : bytes(t.length),
    `${t.peers} peer${t.peers === 1 ? '' : 's'}`,
    `↓ ${bytes(t.downloadRate)}/s`,
    `↑ ${bytes(t.uploadRate)}/s`,
    t.error,
  ];
  row.fields.facts.textContent = facts.filter(Boolean).join(' · ');
  row.root.dataset.state = t.state;
  const paused = t.state === 'paused';
  row.fields.pause.dataset.action = paused ? 'resume' : 'pause';
  row.fields.pause.textContent = paused ? 'Resume' : 'Pause';
  row.summary = { t, askedAt };
  syncFetchBoxes(row, t, askedAt);
  if (!row.listed && t.state !== 'metadata' && t.state !== 'error') {
    row.listed = true;
    void showFiles(t.infohash, row);
  }
}

let refreshing;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const askedAt = performance.now();
      const { torrents } = await call('GET', '/api/torrents');
      const seen = new Set();
      for (const t of torrents) {
        seen.add(t.infohash);
        let row = rows.get(t.infohash);
        if (!row) {
          row = newRow(t);
          rows.set(t.infohash, row);
          $('torrents').append(row.root);
        }
        update(row, t, askedAt);
      }
      for (const [infohash, row] of rows) {
        if (seen.has(infohash)) continue;
        row.root.remove();
        rows.delete(infohash);
        listings.delete(infohash);
      }
      $('empty').hidden = torrents.length > 0;
      if ($('message').textContent.startsWith(NOT_ANSWERING)) say('');
      document.body.dataset.ready = 'true';
    } catch (err) {
      say(`${NOT_ANSWERING}: ${err.message}`, true);
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/**
 * A catalog result, played as `dream-cli stream` plays it: add its magnet (already added is fine),
 * choose the largest video from the entry's file list (signed with the entry, in the torrent's
 * listing order), and point the player at it at once: the stream server holds the request until
 * the metadata has come from peers.
 */
async function watch(entry) {
  const files = entry.files ?? [];
  const index = files.reduce(
    (best, f, i) => (VIDEO_FILE.test(f.path) && (best < 0 || f.size > files[best].size) ? i : best),
    -1,
  );
  if (index < 0) throw new Error(`"${entry.title}" lists no video file to play`);
  const body = { magnet: entry.magnet };
  if (entry.durationSeconds > 0) body.durationSeconds = entry.durationSeconds;
  let addedHere = true;
  try {
    await call('POST', '/api/torrents', body);
  } catch (err) {
    if (err.code !== 'already-added') throw err;
    addedHere = false;
  }
  const ih = encodeURIComponent(entry.infohash);
  const subtitles = files
    .map((f, i) => ({ path: f.path, url: `/stream/${ih}/${i}` }))
    .filter((f) => SUBTITLE_FILE.test(f.path))
    .slice(0, MAX_TRACKS);
  // Before the <video> asks: a magnet paused before its metadata came is refused at once (503).
  const resumed = addedHere ? undefined : await resumeFor(ih, files[index].path);
  play(entry.title, `/stream/${ih}/${index}`, subtitles);
  say(
    resumed
      ? `${resumed} was paused: resumed to play ${files[index].path}.`
      : `Playing ${entry.title}: it starts as soon as peers send the first pieces.`,
  );
  if (addedHere) fetchOnly(ih, [files[index].path, ...subtitles.map((s) => s.path)]).catch(() => {});
}

/**
 * Play on a paused torrent: as dream-cli stream does, resume it unless the file is already on disk
 * (then it plays from there and nothing is uploaded); else the video would wait for pieces that
 * never come.
 */
async function resumeFor(ih, path) {
  const t = await call('GET', `/api/torrents/${ih}`);
  if (t.state !== 'paused') return undefined;
  const file = t.files.find((f) => !f.pad && f.path === path);
  if (file && file.bytes === file.length) return undefined;
  await call('POST', `/api/torrents/${ih}/resume`);
  return t.name ?? 'The torrent';
}

/**
 * As dream-cli stream does: a torrent added to play one file fetches that file and its subtitles,
 * not the rest of a pack. Once the metadata is in (the listing waits for it), by path: the engine
 * maps paths to its indices. Best effort: on failure (a stale entry naming a file the torrent does
 * not have) the torrent keeps every file, as before.
 */
async function fetchOnly(ih, paths) {
  await call('GET', `/stream/${ih}/`);
  await call('PUT', `/api/torrents/${ih}/files`, { paths });
}

function resultItem({ entry }) {
  const n = entry.files.length;
  const facts = [bytes(entry.size), duration(entry.durationSeconds), `${n} file${n === 1 ? '' : 's'}`];
  const button = el('button', { type: 'button', class: 'watch', text: 'Play' });
  button.addEventListener('click', () => act(button, () => watch(entry)));
  return el(
    'li',
    { class: 'result', 'data-infohash': entry.infohash },
    el('span', { class: 'title', text: entry.title }),
    el('span', { class: 'facts', text: facts.filter(Boolean).join(' · ') }),
    button,
  );
}

$('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const q = $('search-input').value.trim();
  if (q === '') return;
  const button = event.submitter ?? $('search').querySelector('button');
  act(button, async () => {
    const { results } = await call('GET', `/api/catalog/search?${new URLSearchParams({ q, limit: '20' })}`);
    showResults(`Results for "${q}"`, results);
    if (results.length === 0) say(`No video matches "${q}".`);
  });
});

function showResults(title, results) {
  $('results-title').textContent = title;
  $('results-title').hidden = results.length === 0;
  $('results').replaceChildren(...results.map(resultItem));
}

/** The front page: what was published last, for a user who does not know what to search for. */
async function showRecent() {
  try {
    const { entries } = await call('GET', '/api/catalog/recent?limit=20');
    if ($('results').childElementCount === 0) {
      showResults(
        'Recently published',
        entries.map((entry) => ({ entry })),
      );
    }
  } catch {
    // No catalog reachable: the search says why when the user tries it.
  }
}

$('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('add-input');
  const text = input.value.trim();
  if (text === '') return;
  const body = /^magnet:/i.test(text) ? { magnet: text } : { infohash: text };
  const button = event.submitter ?? $('add').querySelector('button');
  act(button, async () => {
    const added = await call('POST', '/api/torrents', body);
    input.value = '';
    say(`Added ${added.name ?? added.infohash}.`);
  });
});

const MiB = 1024 * 1024;

/** The limits form shows bytes/s as MiB/s; 0 (no limit) as an empty field. */
function showLimits({ download, upload }) {
  const mib = (v) => (v > 0 ? String(Math.round((v / MiB) * 1000) / 1000) : '');
  $('limit-down').value = mib(download);
  $('limit-up').value = mib(upload);
}

/** Bytes/s for a MiB/s field; throws a message naming the field when it is not a rate. */
function limitOf(input, label) {
  const text = input.value.trim();
  if (text === '') return 0;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`${label}: "${text}" is not a rate in MiB/s (0 or empty: no limit)`);
  return Math.round(v * MiB);
}

function rate(v) {
  return v > 0 ? `${bytes(v)}/s` : 'no limit';
}

$('limits').addEventListener('submit', (event) => {
  event.preventDefault();
  const button = event.submitter ?? $('limits').querySelector('button');
  act(button, async () => {
    const body = { download: limitOf($('limit-down'), 'Download'), upload: limitOf($('limit-up'), 'Upload') };
    const set = await call('PUT', '/api/limits', body);
    showLimits(set);
    say(
      `Limits set: download ${rate(set.download)}, upload ${rate(set.upload)}, until dream-torrent restarts.`,
    );
  });
});

$('player').addEventListener('error', (event) => {
  if (event.target.currentSrc) void explainPlaybackError(event.target);
});

void refresh();
void showRecent();
// Once, not with every refresh: a refresh must not overwrite what the user is typing.
call('GET', '/api/limits').then(showLimits, () => {});
setInterval(refresh, REFRESH_MS);
