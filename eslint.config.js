import { readdirSync } from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The floors of src/, lowest first (README, "Layout"). A file imports only from its own room and
 * the floors below it: never up, never a sibling room on its own floor.
 */
const FLOORS = [
  ['within'],
  ['errors', 'config', 'logger', 'start-failure', 'observability', 'generated'],
  ['db'],
  ['auth'],
  ['notifications'],
  ['realtime', 'connections', 'jobs'],
  ['services'],
  ['schema'],
  ['api'],
  ['sockets'],
  ['app', 'dev-secrets'],
  ['main', 'migrate'],
];

// A room left out of FLOORS would go unchecked: name every entry of src/ in one floor.
const unplaced = readdirSync(path.join(import.meta.dirname, 'src'))
  .map((entry) => entry.replace(/\.ts$/, ''))
  .filter((room) => !FLOORS.flat().includes(room));
if (unplaced.length > 0) {
  throw new Error(`src/${unplaced.join(', src/')}: place it in a floor of eslint.config.js`);
}

/** The rooms a file in `room` must not import: its siblings and everything above. */
function forbiddenFor(floor, room) {
  return [...FLOORS[floor].filter((other) => other !== room), ...FLOORS.slice(floor + 1).flat()];
}

/** Matches a relative import of one of `rooms`, as a folder (`../api/x.js`) or a file (`./app.js`). */
const importOf = (rooms) => `^(\\.{1,2}/)+(${rooms.join('|')})(/|\\.js$)`;

const layering = FLOORS.slice(0, -1).flatMap((rooms, floor) =>
  rooms.map((room) => ({
    files: [`src/${room}/**/*.ts`, `src/${room}.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: importOf(forbiddenFor(floor, room)),
              message: `src/${room} imports only from the floors below it (README, "Layout").`,
            },
          ],
        },
      ],
    },
  })),
);

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'src/generated',
      'client',
      '.data',
      'examples/*/dist',
      'dist',
      'packages/*/dist',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  ...layering,
);
