import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// eslint keeps each room of src/ off the floors above it (eslint.config.js); within a room, or
// between rooms on one floor, only this keeps files from importing each other in a loop.

const SRC = path.join(import.meta.dirname, '../src');

/** Each file of src/ (generated code aside) with the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.startsWith('generated'),
  );
  return new Map(
    files.map((file) => {
      const source = readFileSync(path.join(SRC, file), 'utf8');
      const imported = [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)]
        .map(([, specifier]) => path.join(path.dirname(file), specifier!).replace(/\.js$/, '.ts'))
        .filter((target) => !target.startsWith('generated'));
      return [file, imported];
    }),
  );
}

/** The import loops in `graph`, each as the files along it. */
function loops(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, trail: string[]) => {
    const at = trail.indexOf(file);
    if (at >= 0) return void found.push([...trail.slice(at), file]);
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  return found;
}

describe('the import graph of src/', () => {
  it('reads the imports it checks', () => {
    expect(importGraph().get('services.ts')).toContain('notifications/event-bus.ts');
  });

  it('has no loops', () => {
    expect(loops(importGraph())).toEqual([]);
  });
});
