// Headless Chromium (Debian's package, installed by `bash scripts/ensure-tools.sh --test`) opening one
// page: for the tests that check what a real browser does with our servers (plays a stream, is kept
// away from the control API).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir, removeDir } from './fixtures.js';

export interface OpenPage {
  /** Throws the launch error if Chromium could not start (for use inside waitFor predicates). */
  check(): void;
  /** Kills Chromium with its helper processes and removes its profile. */
  close(): Promise<void>;
}

export async function openInChromium(url: string): Promise<OpenPage> {
  const profile = await makeTempDir('dream-chromium-');
  const chromium: ChildProcess = spawn(
    'chromium',
    [
      '--headless=new',
      '--no-sandbox', // the tests run as root
      '--disable-gpu',
      '--mute-audio',
      '--autoplay-policy=no-user-gesture-required',
      '--no-first-run',
      `--user-data-dir=${join(profile, 'profile')}`,
      url,
    ],
    // Its own process group: the zygote and renderers go with it.
    { stdio: 'ignore', detached: true },
  );
  let failed: Error | undefined;
  chromium.once('error', (err) => {
    failed = new Error(
      `cannot start chromium (bash scripts/ensure-tools.sh --test installs it): ${err.message}`,
    );
  });
  return {
    check() {
      if (failed) throw failed;
    },
    async close() {
      if (chromium.pid && chromium.exitCode === null && chromium.signalCode === null) {
        try {
          process.kill(-chromium.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await removeDir(profile);
    },
  };
}
