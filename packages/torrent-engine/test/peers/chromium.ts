// Headless Chromium (Debian's package, installed by `bash scripts/ensure-tools.sh --test`), for the
// tests that check what a real browser does with our servers: plays a stream, is kept away from the
// control API, drives the web UI (peers/devtools.ts).
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir, removeDir } from './fixtures.js';

export interface Chromium {
  child: ChildProcess;
  /** Throws the launch error if Chromium could not start (for use inside waitFor predicates). */
  check(): void;
  /** Kills Chromium with its helper processes and removes its profile. */
  close(): Promise<void>;
}

/** Starts Chromium headless in a fresh profile with `args` (a URL, protocol flags) after ours. */
export async function launchChromium(args: string[], stdio: StdioOptions = 'ignore'): Promise<Chromium> {
  const profile = await makeTempDir('dream-chromium-');
  const child = spawn(
    'chromium',
    [
      '--headless=new',
      '--no-sandbox', // the tests run as root
      '--disable-gpu',
      '--mute-audio',
      '--autoplay-policy=no-user-gesture-required',
      '--no-first-run',
      `--user-data-dir=${join(profile, 'profile')}`,
      ...args,
    ],
    // Its own process group: the zygote and renderers go with it.
    { stdio, detached: true },
  );
  let failed: Error | undefined;
  child.once('error', (err) => {
    failed = new Error(
      `cannot start chromium (bash scripts/ensure-tools.sh --test installs it): ${err.message}`,
    );
  });
  return {
    child,
    check() {
      if (failed) throw failed;
    },
    async close() {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await removeDir(profile);
    },
  };
}

export type OpenPage = Omit<Chromium, 'child'>;

/** Chromium showing `url`, nothing else to drive it: the page reports to its own server. */
export async function openInChromium(url: string): Promise<OpenPage> {
  return launchChromium([url]);
}
