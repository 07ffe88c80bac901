/**
 * The containment guarantee (after anacrolix storage/safe-path.go): whatever the metainfo says, a
 * file we open under the download root is inside it. Sanitisation (metainfo/sanitize.ts) is the
 * rule; this is the check that holds even if a sanitiser bug or a planted symlink gets through:
 *
 * - the lexical path must resolve strictly under the root;
 * - directories are created one level at a time and every existing level must be a real directory,
 *   not a symlink (a symlink inside the root could point anywhere);
 * - the file itself is opened with O_NOFOLLOW, so a symlink in its place is refused by the kernel.
 */
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StorageError } from './errors.js';

/** Resolve a '/'-separated relative path under `root`, refusing anything that lands outside. */
export function resolveUnder(root: string, relPath: string): string {
  const target = resolve(root, ...relPath.split('/'));
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new StorageError('UNSAFE_PATH', `refusing path "${relPath}": it resolves outside ${root}`);
  }
  return target;
}

/** mkdir -p below `root` (which must exist), refusing symlinks and non-directories on the way. */
export async function ensureDirsUnder(root: string, relPath: string): Promise<void> {
  const parts = relPath.split('/').slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = resolveUnder(root, relative(root, resolve(dir, part)).split(sep).join('/'));
    let st: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      st = await lstat(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (!st) {
      try {
        await mkdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = await lstat(dir);
    }
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new StorageError('UNSAFE_PATH', `refusing to write through ${dir}: not a plain directory`);
    }
  }
}

/**
 * Open a torrent file under `root`. `create`: read-write, created if missing (directories too).
 * Otherwise read-only; ENOENT propagates. The final component is never followed if a symlink.
 */
export async function openUnder(root: string, relPath: string, create: boolean): Promise<FileHandle> {
  const target = resolveUnder(root, relPath);
  if (create) await ensureDirsUnder(root, relPath);
  else await checkParents(root, relPath);
  const flags = create
    ? constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW
    : constants.O_RDONLY | constants.O_NOFOLLOW;
  try {
    return await open(target, flags, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new StorageError('UNSAFE_PATH', `refusing to open ${target}: it is a symlink`);
    }
    throw e;
  }
}

async function checkParents(root: string, relPath: string): Promise<void> {
  const parts = relPath.split('/').slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = resolve(dir, part);
    const st = await lstat(dir); // ENOENT propagates: the file does not exist either
    if (st.isSymbolicLink()) {
      throw new StorageError('UNSAFE_PATH', `refusing to read through ${dir}: it is a symlink`);
    }
  }
}
