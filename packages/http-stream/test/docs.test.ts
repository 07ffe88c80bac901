/** The error catalogue is closed and documented: every code appears in the design page. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../src/index.js';

const page = readFileSync(
  fileURLToPath(new URL('../../../docs/design/http-range.md', import.meta.url)),
  'utf8',
);

describe('docs/design/http-range.md', () => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    it(`documents ${code} with status ${status}`, () => {
      expect(page).toContain(`| \`${code}\` | ${status} |`);
    });
  }
});
