import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, serviceEnv } from './helpers/process.js';

// `npm install && npm test` on a machine without Chromium: the browser tests are skipped with one
// line saying how to install a browser, and the run passes; where a browser is required (CI
// sets REQUIRE_BROWSER=1), the same run fails. Vitest runs the browser test files here with
// CHROMIUM_PATH naming nothing, which the browser helper takes as "no browser".

const VITEST = fileURLToPath(new URL('../node_modules/.bin/vitest', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const THIS_FILE = 'browser-skip.test.ts';
const IMPORTS_BROWSER_HELPER =
  /^} from '\.\/helpers\/browser\.js';$|^import .* from '\.\/helpers\/browser\.js';$/m;
/**
 * Every test file that opens a browser (it imports the browser helper), as they are added; never
 * this one, which would run itself again, and again.
 */
const BROWSER_TEST_FILES = readdirSync(TEST_DIR)
  .filter((file) => file.endsWith('.test.ts') && file !== THIS_FILE)
  .filter((file) => IMPORTS_BROWSER_HELPER.test(readFileSync(`${TEST_DIR}${file}`, 'utf8')))
  .map((file) => `test/${file}`);

function runBrowserTests(env: Record<string, string>) {
  return run(VITEST, ['run', ...BROWSER_TEST_FILES], {
    env: serviceEnv({
      CHROMIUM_PATH: '/nonexistent/chromium',
      // The databases the outer run uses, so this run does not start an embedded PostgreSQL.
      ...(process.env.TEST_DATABASE_URL && { TEST_DATABASE_URL: process.env.TEST_DATABASE_URL }),
      NO_COLOR: '1',
      ...env,
    }),
    timeoutMs: 120_000,
  });
}

describe('the browser tests on a machine without a browser', () => {
  it('are every file that opens a browser, and not this one', () => {
    expect(BROWSER_TEST_FILES).not.toContain(`test/${THIS_FILE}`);
    expect(BROWSER_TEST_FILES).toEqual(
      expect.arrayContaining([
        'test/browser-shared-worker.test.ts',
        'test/browser-inbox.test.ts',
        'test/browser-inbox-management.test.ts',
        'test/browser-react-inbox.test.ts',
        'test/graphiql.test.ts',
      ]),
    );
  });

  it('are skipped with one line saying how to install one, and the run passes', async () => {
    const { code, stdout, stderr } = await runBrowserTests({});
    const output = `${stdout}\n${stderr}`;
    expect(code, output).toBe(0);
    const warnings = output.split('\n').filter((line) => line.includes('BROWSER TESTS SKIPPED'));
    expect(warnings).toEqual([
      '*** BROWSER TESTS SKIPPED: no Chromium at /nonexistent/chromium. Install one with ' +
        '`apt-get install chromium` (or set CHROMIUM_PATH) to run them. ***',
    ]);
    // The browser tests are reported skipped, none failed; those that need no browser still run.
    const [, skipped] = /Tests\s+\d+ passed \| (\d+) skipped \(\d+\)/.exec(output) ?? [];
    expect(Number(skipped)).toBeGreaterThanOrEqual(12);
  }, 150_000);

  it('fail the run where REQUIRE_BROWSER=1 (as .ci/run sets it)', async () => {
    const { code, stdout, stderr } = await runBrowserTests({ REQUIRE_BROWSER: '1' });
    const output = `${stdout}\n${stderr}`;
    expect(code, output).not.toBe(0);
    expect(output).toContain('REQUIRE_BROWSER=1: the browser tests must run here.');
  }, 150_000);
});
