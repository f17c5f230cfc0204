/**
 * The runner agent's tool parameters: JSON schemas (descriptions come from
 * prompts.md), and the checks that turn a model's arguments into an object or
 * into a reason the model reads back.
 */
import { errorMessage } from '../core/errors.js';

interface Property {
  type: 'string' | 'integer' | 'array';
  items?: { type: 'string' };
  description: string;
}

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, Property>;
  required: string[];
  additionalProperties: false;
}

function schema(properties: Record<string, Property>, required: string[] = []): ObjectSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** Parameter schemas; the tools' descriptions come from prompts.md (`tool_<name>`). */
export const TOOL_SCHEMAS: Record<string, ObjectSchema> = {
  swe_clone: schema({}),
  swe_install: schema({}),
  swe_apply_patch: schema({ patch: { type: 'string', description: 'A unified diff (git diff format), paths relative to the repository root.' } }, ['patch']),
  swe_pytest: schema({
    tests: { type: 'array', items: { type: 'string' }, description: 'Test paths or node ids; default: the deciding tests.' },
    k: { type: 'string', description: 'A pytest -k expression; default: the deciding one.' },
  }),
  list_files: schema({
    path: { type: 'string', description: 'Directory relative to the repository root (default ".").' },
    depth: { type: 'integer', description: 'Levels to descend (default 2, at most 6).' },
  }),
  read_file: schema(
    {
      path: { type: 'string', description: 'File relative to the repository root.' },
      start_line: { type: 'integer', description: 'First line to show (default 1).' },
      end_line: { type: 'integer', description: 'Last line to show (default: as much as fits).' },
    },
    ['path'],
  ),
  run_command: schema({ command: { type: 'string', description: 'A bash command, run in the repository root.' } }, ['command']),
};

export const TOOL_NAMES = Object.keys(TOOL_SCHEMAS);

/** Why `value` does not fit `s`, worded to follow "the arguments of X", or null when it fits. */
export function validateArgs(s: ObjectSchema, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in s.properties)) return `have an unknown field "${key}"`;
  }
  for (const key of s.required) {
    if (obj[key] === undefined || obj[key] === null) return `lack the required field "${key}"`;
  }
  for (const [key, p] of Object.entries(s.properties)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const ok =
      p.type === 'string' ? typeof v === 'string'
      : p.type === 'integer' ? Number.isInteger(v)
      : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) return `have a field "${key}" that must be ${p.type === 'array' ? 'an array of strings' : `a ${p.type}`}, got ${JSON.stringify(v).slice(0, 60)}`;
  }
  return null;
}

/** `{"path": string (required), "depth": integer}`: the arguments in one line, for error messages and the text-mode tool list. */
export function argumentsHelp(s: ObjectSchema): string {
  const parts = Object.entries(s.properties).map(
    ([k, p]) => `"${k}": ${p.type === 'array' ? 'array of strings' : p.type}${s.required.includes(k) ? ' (required)' : ''}`,
  );
  return `{${parts.join(', ')}}`;
}

/** Arguments as a model sent them (a JSON string, an object, or nothing) → an object, or why not. */
export function parseArguments(raw: unknown): { ok: true; args: Record<string, unknown> } | { ok: false; reason: string } {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { ok: true, args: {} };
  let v: unknown = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch (err) {
      return { ok: false, reason: `are not valid JSON (${errorMessage(err)})` };
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'must be a JSON object' };
  return { ok: true, args: v as Record<string, unknown> };
}
