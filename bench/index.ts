/**
 * `pnpm bench`: runs every benchmark module under bench/ and each package's bench/ folder (each exports `run(): Promise<string>`
 * returning a markdown section), prints the sections, and, for a full run, writes them to
 * docs/benchmarks-run.md. docs/benchmarks.md is the curated page (the summary against the issues'
 * goals, what was traced and why): its tables are taken from such runs by hand, so a full run
 * never overwrites the reasoning beside them.
 * Benchmarks print figures and ratios against peers measured in the same run; they assert nothing.
 *
 *   pnpm bench            # all
 *   pnpm bench dht engine # only these
 */

import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const packagesDir = join(here, '..', 'packages');
const benchFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
};
const modules = [
  ...benchFiles(here),
  ...readdirSync(packagesDir).flatMap((p) => benchFiles(join(packagesDir, p, 'bench'))),
]
  .map((file) => ({ name: basename(file, '.ts'), file }))
  .filter(({ name }) => only.length === 0 || only.includes(name))
  .sort((a, b) => a.name.localeCompare(b.name));

const sections: string[] = [];
for (const { name, file } of modules) {
  process.stderr.write(`==> bench ${name}\n`);
  const mod = (await import(file)) as { run: () => Promise<string> };
  const started = Date.now();
  try {
    const section = await mod.run();
    sections.push(section.trim());
    process.stdout.write(`${section.trim()}\n\n`);
  } catch (err) {
    const msg = `## ${name}\n\nFAILED: ${(err as Error).stack ?? err}`;
    sections.push(msg);
    process.stdout.write(`${msg}\n\n`);
  }
  process.stderr.write(`    (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

if (only.length === 0) {
  const header = [
    '# Benchmarks: last full run',
    '',
    'The raw output of the last full benchmark run, as `pnpm bench` wrote it. The curated page, with',
    "the summary against the issues' goals and what the figures mean, is [benchmarks.md](benchmarks.md).",
    '',
    `Last full run: ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores,`,
    `${Math.round(totalmem() / 2 ** 30)} GiB. Command: \`pnpm bench\`.`,
  ].join('\n');
  writeFileSync(join(here, '..', 'docs', 'benchmarks-run.md'), `${header}\n\n${sections.join('\n\n')}\n`);
}
