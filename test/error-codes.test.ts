import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

// The one table of error codes (src/errors.ts) is the README's: every code the API returns is
// listed there with its meaning, and nothing else is.

describe('error codes', () => {
  it('lists every code in the README with its meaning, and no other', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    // Rows of the error-code table, the one headed | code | meaning |, up to its end.
    const lines = readme.split('\n');
    const header = lines.findIndex((line) => /^\| code +\| meaning +\|$/.test(line));
    expect(header, 'the README has a table headed | code | meaning |').toBeGreaterThan(-1);
    const end = lines.findIndex((line, index) => index > header && !line.startsWith('|'));
    const rows = lines.slice(header + 2, end).map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
    expect(rows).toEqual(
      Object.entries(ERROR_CODES).map(([code, meaning]) => [`\`${code}\``, meaning]),
    );
  });
});
