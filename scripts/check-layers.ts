/**
 * Checks the architecture the folders promise: every import under scripts/lib
 * points down the layer list below (or stays in its folder), nothing imports an
 * entry script, and there is no import cycle (type imports count: a cycle of
 * types is still a cycle of concerns). Exit 0 when clean, 1 with one line per
 * problem. Run by `npm test`; by hand: `npx tsx scripts/check-layers.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** scripts/lib's folders, lowest first: a folder may import only from itself and the ones before it. */
export const LAYERS = ['core', 'task', 'engine', 'source', 'testing', 'export', 'run', 'agent', 'batch', 'report', 'cli'] as const;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer index of a file under scripts/lib, or null for entry scripts and bench. */
function layerOf(file: string): number | null {
  const rel = path.relative(path.join(ROOT, 'scripts', 'lib'), file);
  if (rel.startsWith('..')) return null;
  const folder = rel.split(path.sep)[0]!;
  const i = (LAYERS as readonly string[]).indexOf(folder);
  return i === -1 ? -1 : i;
}

export function checkLayers(files: string[]): string[] {
  const problems: string[] = [];
  const edges = new Map<string, string[]>();
  const rel = (f: string) => path.relative(ROOT, f);
  for (const f of files) {
    const targets: string[] = [];
    for (const m of fs.readFileSync(f, 'utf8').matchAll(IMPORT_RE)) {
      const t = path.resolve(path.dirname(f), m[1]!.replace(/\.js$/, '.ts'));
      if (!fs.existsSync(t)) continue;
      targets.push(t);
      const from = layerOf(f);
      const to = layerOf(t);
      if (from === -1) problems.push(`${rel(f)}: folder not in the layer list (${LAYERS.join(' < ')})`);
      if (to === null && from !== null) problems.push(`${rel(f)} imports the entry script ${rel(t)}`);
      else if (from !== null && to !== null && to > from) problems.push(`${rel(f)} (${LAYERS[from]}) imports ${rel(t)} (${LAYERS[to]}), a layer above`);
    }
    edges.set(f, targets);
  }
  const state = new Map<string, 1 | 2>();
  const visit = (v: string, stack: string[]) => {
    state.set(v, 1);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (state.get(w) === 1) problems.push(`cycle: ${[...stack.slice(stack.indexOf(w)), w].map(rel).join(' -> ')}`);
      else if (!state.has(w)) visit(w, stack);
    }
    stack.pop();
    state.set(v, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f, []);
  return [...new Set(problems)];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = [...tsFiles(path.join(ROOT, 'scripts')), ...tsFiles(path.join(ROOT, 'bench'))];
  const problems = checkLayers(files);
  for (const p of problems) console.error(`check-layers: ${p}`);
  if (problems.length === 0) console.log(`check-layers: ${files.length} files, imports point down (${LAYERS.join(' < ')}), no cycles`);
  process.exit(problems.length ? 1 : 0);
}
