import { readFileSync } from 'node:fs';
import { CATALOG_ERROR_CODES } from '@dream/catalog';
import { describe, expect, it } from 'vitest';

describe('docs/design/catalog.md', () => {
  const doc = readFileSync(new URL('../../../docs/design/catalog.md', import.meta.url), 'utf8');
  it('documents every error code the API can answer, with its status', () => {
    const missing = Object.entries(CATALOG_ERROR_CODES).filter(
      ([code, status]) => !new RegExp(`\\| \`${code}\` \\| ${status} \\|`).test(doc),
    );
    expect(missing).toEqual([]);
  });
});
