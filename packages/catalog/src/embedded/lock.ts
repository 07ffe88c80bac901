/**
 * One process at a time owns an embedded catalog: two writers appending to one log would each keep
 * an index the other never sees. The lock is a file holding the owner's pid; a lock left by a dead
 * process (kill -9) is taken over.
 */
import { constants } from 'node:fs';
import { open, readFile, unlink, writeFile } from 'node:fs/promises';

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(path: string): Promise<() => Promise<void>> {
  if (heldHere.has(path)) throw new Error(`catalog store is already open in this process (${path})`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      heldHere.add(path);
      return async () => {
        heldHere.delete(path);
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`catalog store is in use by process ${pid} (lock file ${path})`);
    }
    // Stale: the owner died. Remove and retry once (a racing opener may win; then we report it).
    await unlink(path).catch(() => undefined);
  }
  await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  heldHere.add(path);
  return async () => {
    heldHere.delete(path);
    await unlink(path).catch(() => undefined);
  };
}
