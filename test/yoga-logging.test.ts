import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

// What Yoga itself logs (a request it could not parse, say) must reach the operator readable:
// with its message and its error, not as `{"0":{}}`.

let server: TestServer;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  server = await startTestServer({
    env: { LOG_LEVEL: 'debug' },
    onLog: (line) => lines.push(line),
  });
});
afterAll(() => server.stop());

it("writes Yoga's own log lines with their message and error", async () => {
  const response = await fetch(`${server.url}?query=%7Bviewer%7Bkind%7D%7D&variables=%7Bnot-json`);
  expect(response.status).toBe(400);
  const fromYoga = lines.filter((line) => (line.level as number) >= 50);
  expect(fromYoga.length).toBeGreaterThan(0);
  for (const line of fromYoga) {
    expect(line).not.toHaveProperty('0');
    expect(line.msg).toMatch(/JSON/);
    expect(line.err).toMatchObject({ type: 'SyntaxError', message: expect.stringMatching(/JSON/) });
  }
});
