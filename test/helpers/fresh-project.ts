import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// What a frontend team does with a package of packages/: `npm pack` it, and `npm install` the
// tarball into an empty project with nothing of this repository around it.

const run = promisify(execFile);

export interface FreshProject {
  dir: string;
  /** Writes a file of the project (its app, its tsconfig). */
  write(name: string, text: string): Promise<void>;
  remove(): Promise<void>;
}

/**
 * An empty ESM project with the packed tarballs of `packages` (folders of packages/, each built
 * by its prepack) and `registry` (names from the npm registry) installed.
 */
export async function freshProject(packages: string[], registry: string[]): Promise<FreshProject> {
  const dir = await mkdtemp(join(tmpdir(), 'inbox-consumer-'));
  for (const name of packages) {
    const source = fileURLToPath(new URL(`../../packages/${name}`, import.meta.url));
    await run('npm', ['pack', '--pack-destination', dir], { cwd: source });
  }
  const tarballs = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== packages.length) throw new Error(`packed only ${tarballs.join(', ')}`);
  const write = (name: string, text: string) => writeFile(join(dir, name), text);
  await write('package.json', JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // All in one install: a package's dependency on another of ours is met by its tarball.
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', ...tarballs.map((t) => `./${t}`), ...registry],
    { cwd: dir },
  );
  return { dir, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ProjectApp {
  /** What the app printed, one JSON value a line. */
  lines: Record<string, unknown>[];
  /** What it printed on stderr, so far. */
  errors(): string;
  exited: Promise<number | null>;
  kill(): void;
}

/** Runs `file` of the project with Node, reading its standard output as JSON lines. */
export function runApp(
  project: FreshProject,
  file: string,
  env: Record<string, string>,
): ProjectApp {
  const app = spawn(process.execPath, [file], {
    cwd: project.dir,
    env: { ...process.env, ...env },
  });
  const lines: Record<string, unknown>[] = [];
  let errors = '';
  createInterface({ input: app.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  app.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return {
    lines,
    errors: () => errors,
    exited: new Promise((resolve) => app.on('exit', resolve)),
    kill: () => app.kill(),
  };
}
