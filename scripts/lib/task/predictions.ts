/**
 * SWE-bench predictions (`{instance_id, model_name_or_path, model_patch}`) as
 * JSONL, a JSON list or mini-swe-agent's preds.json dict; read, and appended to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError, errorMessage } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { idProblem } from './ids.js';
import { splitJsonRecords, type SourcedValue } from './instances.js';
import { failField as fail, isPlainObject, kindOf, showValue } from '../core/values.js';

export interface Prediction {
  instance_id: string;
  model_name_or_path: string;
  model_patch: string;
}

/**
 * One prediction; `key` is its dict key in a preds.json. A null or missing
 * `model_patch` (the model produced nothing) or `model_name_or_path` is kept as "".
 */
function validatePrediction(value: unknown, where: string, key: string | null): Prediction {
  if (!isPlainObject(value)) throw new HarnessError('task', `${where}: expected a JSON object, got ${kindOf(value)}`);
  let id = value.instance_id;
  if ((id === undefined || id === null) && key !== null) id = key;
  if (id === undefined || id === null) fail(where, 'instance_id', 'is required (a non-empty string)', id);
  const problem = idProblem(id);
  if (problem) fail(where, 'instance_id', problem, id);
  if (key !== null && id !== key) fail(where, 'instance_id', `must equal its key ${JSON.stringify(key)}`, id);
  const model = value.model_name_or_path;
  if (model !== undefined && model !== null && typeof model !== 'string') fail(where, 'model_name_or_path', 'must be a string', model);
  const patch = value.model_patch;
  if (patch !== undefined && patch !== null && typeof patch !== 'string') fail(where, 'model_patch', 'must be a string or null', patch);
  return { instance_id: id as string, model_name_or_path: model ?? '', model_patch: patch ?? '' };
}

/** True for a dict-shaped predictions file (`{id: {...}}`), as opposed to a single prediction row. */
function isPredsDict(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && !(typeof value.instance_id === 'string' || 'model_patch' in value);
}

function collect(records: readonly (SourcedValue & { key?: string })[]): Map<string, Prediction> {
  const preds = new Map<string, Prediction>();
  const where = new Map<string, string>();
  for (const r of records) {
    const pred = validatePrediction(r.value, r.where, r.key ?? null);
    const prev = where.get(pred.instance_id);
    if (prev !== undefined) {
      throw new HarnessError('task', `${r.where}: duplicate prediction for ${JSON.stringify(pred.instance_id)} (first at ${prev})`);
    }
    where.set(pred.instance_id, r.where);
    preds.set(pred.instance_id, pred);
  }
  return preds;
}

/**
 * Parse a predictions file's text (JSONL, JSON array, or preds.json dict). `source`
 * names it in messages, with the line (`file:3`), index (`file[3]`) or key (`file["id"]`).
 */
export function parsePredictions(text: string, source: string): Map<string, Prediction> {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('{')) {
    let whole: unknown;
    let parsed = false;
    try {
      whole = JSON.parse(body);
      parsed = true;
    } catch {
      // not one JSON value: JSON Lines
    }
    if (parsed && isPredsDict(whole)) {
      return collect(Object.entries(whole).map(([key, value]) => ({ where: `${source}[${JSON.stringify(key)}]`, value, key })));
    }
  }
  return collect(splitJsonRecords(body, source));
}

/** Read and parse a predictions file. */
export async function loadPredictions(file: string): Promise<Map<string, Prediction>> {
  const text = await readInputFile(file, 'predictions file');
  return parsePredictions(text, file);
}

/** The preds.json text for these predictions: `json.dumps(..., indent=2)` layout, keys in map order. */
export function formatPredsDict(preds: ReadonlyMap<string, Prediction>): string {
  if (preds.size === 0) return '{}\n';
  const entries = [...preds.values()].map((p) => {
    const row = { model_name_or_path: p.model_name_or_path, instance_id: p.instance_id, model_patch: p.model_patch };
    return `  ${JSON.stringify(p.instance_id)}: ${JSON.stringify(row, null, 2).replace(/\n/g, '\n  ')}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
}

/**
 * Add (or replace, in place) one prediction in a preds.json dict file, as
 * mini-swe-agent's `update_preds_file` does: read, modify, write to a
 * temporary file next to it, rename over it. A missing (or empty) file is
 * created. A file that is not a valid preds dict (JSONL, a list, broken
 * JSON, bad rows) is refused with a HarnessError('task') and left as it is.
 * Safe for sequential calls from one process; concurrent writers must be
 * serialised by the caller.
 */
export function appendPrediction(file: string, pred: Prediction): void {
  const checked = validatePrediction(pred, `prediction for ${showValue(pred?.instance_id)}`, null);
  let preds = new Map<string, Prediction>();
  let text: string | null = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HarnessError('task', `cannot read predictions file ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  if (text !== null && text.trim() !== '') {
    let whole: unknown;
    try {
      whole = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new HarnessError('task', `refusing to overwrite ${file}: not a predictions dict (invalid JSON: ${errorMessage(err)})`);
    }
    if (!isPlainObject(whole) || !isPredsDict(whole)) {
      throw new HarnessError('task', `refusing to overwrite ${file}: not a predictions dict ({"<instance_id>": {...}}), got ${kindOf(whole)}${isPlainObject(whole) ? ' holding one prediction row' : ''}`);
    }
    try {
      preds = parsePredictions(text, file);
    } catch (err) {
      throw new HarnessError('task', `refusing to overwrite ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  preds.set(checked.instance_id, checked);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    fs.writeFileSync(tmp, formatPredsDict(preds));
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing left to clean
    }
    throw new HarnessError('internal', `cannot write predictions file ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
