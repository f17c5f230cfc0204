/**
 * The runner agent's prompts: named sections of prompts.md filled by a tiny
 * `{{name}}` substitution. No prompt text lives in code.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../core/errors.js';

export const PROMPTS_FILE = fileURLToPath(new URL('./prompts.md', import.meta.url));

const SECTION_RE = /^<!-- section: ([a-z0-9_]+) -->\s*$/;

/** Parse a template file into its sections (text trimmed). */
export function parseTemplates(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    if (name !== null) sections.set(name, lines.join('\n').trim());
  };
  for (const line of text.split(/\r?\n/)) {
    const m = SECTION_RE.exec(line);
    if (m) {
      flush();
      if (sections.has(m[1]!)) throw new HarnessError('internal', `prompt section "${m[1]}" defined twice`);
      name = m[1]!;
      lines = [];
    } else lines.push(line);
  }
  flush();
  return sections;
}

/** Replace every `{{name}}` in one pass; a placeholder without a value throws. */
export function substitute(template: string, vars: Record<string, string | number>, section = '?'): string {
  return template.replace(/\{\{([a-z0-9_]+)\}\}/g, (_m, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new HarnessError('internal', `prompt section "${section}" needs a value for {{${key}}}`);
    return String(v);
  });
}

export class Prompts {
  constructor(private readonly sections: Map<string, string>) {}

  static load(file = PROMPTS_FILE): Prompts {
    return new Prompts(parseTemplates(fs.readFileSync(file, 'utf8')));
  }

  has(name: string): boolean {
    return this.sections.has(name);
  }

  /** Section `name` with its placeholders filled. */
  fill(name: string, vars: Record<string, string | number> = {}): string {
    const t = this.sections.get(name);
    if (t === undefined) throw new HarnessError('internal', `no prompt section "${name}" in ${PROMPTS_FILE}`);
    return substitute(t, vars, name);
  }
}

/**
 * Cut `text` to `max` characters, saying how much was cut and where. `keep`
 * says which part matters: the start (a file), the end (test output) or both.
 */
export function truncate(prompts: Prompts, text: string, max: number, keep: 'head' | 'tail' | 'both' = 'both'): string {
  if (text.length <= max) return text;
  const cut = text.length - max;
  const note = prompts.fill('truncated', { cut, total: text.length });
  if (keep === 'head') return `${text.slice(0, max)}\n${note}`;
  if (keep === 'tail') return `${note}\n${text.slice(text.length - max)}`;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n${note}\n${text.slice(text.length - (max - half))}`;
}
