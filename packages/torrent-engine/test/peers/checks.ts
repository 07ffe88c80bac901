// Assertions interop tests share: file digests, byte-identical trees, and waiting on a condition.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** SHA-256 of a file's bytes, hex; streamed, so large files cost no memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Regular files under `dir`, as sorted '/'-separated relative paths. */
export async function listFiles(dir: string, options: { ignore?: (rel: string) => boolean } = {}) {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      const rel = relative(dir, full).split('\\').join('/');
      if (options.ignore?.(rel)) continue;
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(rel);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Throw unless `actual` holds exactly the files of `expected`, byte for byte (sizes first, then
 * SHA-256). Pad files (`.pad/` folders of hybrid torrents) are ignored on both sides unless asked:
 * clients differ on whether they write them, and they are not user data.
 */
export async function assertSameTree(
  expected: string,
  actual: string,
  options: { includePadFiles?: boolean } = {},
): Promise<void> {
  const ignore = options.includePadFiles ? undefined : (rel: string) => rel.split('/').includes('.pad');
  const [a, b] = await Promise.all([listFiles(expected, { ignore }), listFiles(actual, { ignore })]);
  const missing = a.filter((f) => !b.includes(f));
  const extra = b.filter((f) => !a.includes(f));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `trees differ: ${expected} vs ${actual}; missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`,
    );
  }
  for (const rel of a) {
    const [sa, sb] = await Promise.all([stat(join(expected, rel)), stat(join(actual, rel))]);
    if (sa.size !== sb.size) throw new Error(`${rel}: size ${sb.size}, expected ${sa.size}`);
    const [ha, hb] = await Promise.all([sha256File(join(expected, rel)), sha256File(join(actual, rel))]);
    if (ha !== hb) throw new Error(`${rel}: content differs (sha256 ${hb}, expected ${ha})`);
  }
}

/**
 * Resolve with the predicate's first truthy value, polling every `intervalMs`; reject after
 * `timeoutMs` with `what` in the message. For conditions with no event to await (a file's size, a
 * counter in another process); prefer awaiting an event when there is one.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
