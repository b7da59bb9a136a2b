import { chromiumInstalled, NO_BROWSER_WARNING } from './browser.js';

/**
 * Once per run: without a browser the browser tests skip themselves (describe.skipIf), and this
 * says so in one line, so `npm install && npm test` passes on a machine without Chromium. CI sets
 * REQUIRE_BROWSER=1, where a skipped browser test would be a hole in the run: the run fails.
 */
export default function setup() {
  if (chromiumInstalled()) return;
  if (process.env.REQUIRE_BROWSER === '1') {
    throw new Error(`REQUIRE_BROWSER=1: the browser tests must run here. ${NO_BROWSER_WARNING}`);
  }
  console.warn(NO_BROWSER_WARNING);
}
