/**
 * Task files: JSON Lines, one task object per line. Blank lines and lines whose
 * first non-blank character is `#` are ignored.
 *
 * Every problem is a HarnessError('task') whose one-line message names the file,
 * the line and the field, e.g.
 *   seed_tasks.jsonl:3: field "ref" must be a non-empty string, got 42
 *
 * Pure module: parsing and validation only (loadTasks reads the file, nothing else
 * touches the disk). Whether a `fixture:<name>` exists is checked when it is built.
 */
import path from 'node:path';
import { MAX_STAGE_SECONDS, ROOT, validSeconds } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import type { Task } from '../core/types.js';
import { hasControlChars, idProblem, REF_RULE, refIsSafe } from './ids.js';

/** Allowed characters of a task id (it becomes part of directory names). */
const FIXTURE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const TIMEOUT_KEYS = ['clone', 'install', 'test'] as const;

/** Every field of a task row, in the order Task declares them. */
export const TASK_FIELDS = [
  'task_id',
  'repo',
  'ref',
  'pytest_k',
  'tests',
  'install',
  'patch',
  'timeouts',
  'image',
  'install_network',
  'problem_statement',
  'description',
] as const satisfies readonly (keyof Task)[];

type Field = (typeof TASK_FIELDS)[number];
// Compile-time check that TASK_FIELDS lists every key of Task.
type _MissingFields = Exclude<keyof Task, Field>;
const _allFieldsListed: [_MissingFields] extends [never] ? true : never = true;
void _allFieldsListed;

/** Parse the text of a task file. `source` names it in error messages (usually its path). */
export function parseTasks(text: string, source: string): Task[] {
  const tasks: Task[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${lineNo}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new HarnessError('task', `${where}: invalid JSON: ${errorMessage(err)}`);
    }
    const task = validateTask(value, where);
    const seen = firstLine.get(task.task_id);
    if (seen !== undefined) {
      throw new HarnessError(
        'task',
        `${where}: field "task_id": duplicate task_id ${JSON.stringify(task.task_id)} (lines ${seen} and ${lineNo})`,
      );
    }
    firstLine.set(task.task_id, lineNo);
    tasks.push(task);
  });
  return tasks;
}

/** Read and parse a task file. A file without any task is an error. */
export async function loadTasks(file: string): Promise<Task[]> {
  const text = await readInputFile(file, 'task file');
  const tasks = parseTasks(text, file);
  if (tasks.length === 0) throw new HarnessError('task', `${file}: no tasks in file`);
  return tasks;
}

/** The task with this id; HarnessError('task') listing the known ids otherwise. */
/** A task with every optional field at its default (what a minimal tasks-file row gives). */
export function makeTask(t: Pick<Task, 'task_id' | 'repo' | 'ref'> & Partial<Task>): Task {
  return {
    pytest_k: null,
    tests: [],
    install: null,
    patch: null,
    timeouts: {},
    image: null,
    install_network: false,
    problem_statement: null,
    description: null,
    ...t,
  };
}

/** A test path or node id that pytest will not take for an option. */
export function testIsSafe(t: string): boolean {
  return t !== '' && !t.startsWith('-');
}

export function findTask(tasks: readonly Task[], id: string): Task {
  const task = tasks.find((t) => t.task_id === id);
  if (task) return task;
  // A SWE-bench file has thousands of ids: name a few, not all, to keep the error one readable line.
  const known = tasks.map((t) => t.task_id);
  const listed = known.slice(0, 10).join(', ') + (known.length > 10 ? `, ... (${known.length} in all)` : '');
  throw new HarnessError('task', `unknown task id ${JSON.stringify(id)}; known ids: ${known.length ? listed : '(none)'}`);
}

/**
 * Absolute path of the task's own patch file (relative paths are relative to the
 * swe-harness root, not to the task file), or null when the task has none.
 */
export function resolveTaskPatchPath(task: Pick<Task, 'patch'>, root: string = ROOT): string | null {
  if (task.patch === null) return null;
  return path.isAbsolute(task.patch) ? path.normalize(task.patch) : path.resolve(root, task.patch);
}

// ---------------------------------------------------------------------------

/** A value as it appears in messages: JSON, shortened. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function fail(where: string, field: string, what: string, value: unknown): never {
  throw new HarnessError('task', `${where}: field "${field}" ${what}, got ${show(value)}`);
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function suggestion(name: string, allowed: readonly string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-\s]/g, '_');
  const exact = allowed.find((f) => norm(f) === norm(name));
  const close = exact ?? allowed.find((f) => distance(norm(f), norm(name)) <= 2);
  return close ? ` (did you mean "${close}"?)` : '';
}

function optionalString(obj: Record<string, unknown>, field: Field, where: string): string | null {
  const v = obj[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.trim() === '') fail(where, field, 'must be a non-empty string or null', v);
  return v;
}

function validateTask(value: unknown, where: string): Task {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HarnessError('task', `${where}: expected a JSON object, got ${kind(value)}`);
  }
  const obj = value as Record<string, unknown>;

  const unknown = Object.keys(obj).filter((k) => !(TASK_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const first = unknown[0]!;
    const names = unknown.map((k) => `"${k}"`).join(', ');
    throw new HarnessError(
      'task',
      `${where}: unknown field${unknown.length > 1 ? 's' : ''} ${names}${suggestion(first, TASK_FIELDS)}; allowed fields: ${TASK_FIELDS.join(', ')}`,
    );
  }

  // task_id
  const id = obj.task_id;
  if (id === undefined) fail(where, 'task_id', 'is required (a non-empty string)', id);
  const idBad = idProblem(id);
  if (idBad) fail(where, 'task_id', idBad, id);
  const taskId = id as string;

  // repo
  const repo = obj.repo;
  if (repo === undefined) fail(where, 'repo', 'is required (a non-empty string)', repo);
  if (typeof repo !== 'string' || repo.trim() === '') fail(where, 'repo', 'must be a non-empty string', repo);
  if (repo !== repo.trim() || hasControlChars(repo)) fail(where, 'repo', 'must not contain surrounding whitespace or control characters', repo);
  if (repo.startsWith('-')) fail(where, 'repo', 'must not start with "-"', repo);
  if (repo.startsWith('fixture:') && !FIXTURE_NAME_RE.test(repo.slice('fixture:'.length))) {
    fail(where, 'repo', 'must be "fixture:<name>" with a name of letters, digits, ".", "_" and "-"', repo);
  }

  // ref
  const ref = obj.ref;
  if (ref === undefined) fail(where, 'ref', 'is required (a non-empty string)', ref);
  if (typeof ref !== 'string' || ref === '') fail(where, 'ref', 'must be a non-empty string', ref);
  if (!refIsSafe(ref)) {
    fail(where, 'ref', REF_RULE, ref);
  }

  // tests
  let tests: string[] = [];
  if (obj.tests !== undefined) {
    if (!Array.isArray(obj.tests)) fail(where, 'tests', 'must be an array of strings', obj.tests);
    tests = obj.tests.map((t: unknown, i: number) => {
      if (typeof t !== 'string' || t.trim() === '') fail(where, `tests[${i}]`, 'must be a non-empty string', t);
      if (t.startsWith('-')) fail(where, `tests[${i}]`, 'must be a test path or node id, not an option', t);
      if (hasControlChars(t)) fail(where, `tests[${i}]`, 'must not contain control characters', t);
      return t;
    });
  }

  // timeouts
  const timeouts: Task['timeouts'] = {};
  if (obj.timeouts !== undefined) {
    const t = obj.timeouts;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      fail(where, 'timeouts', `must be an object with keys ${TIMEOUT_KEYS.join(', ')}`, t);
    }
    for (const [key, secs] of Object.entries(t as Record<string, unknown>)) {
      if (!(TIMEOUT_KEYS as readonly string[]).includes(key)) {
        throw new HarnessError(
          'task',
          `${where}: field "timeouts" has unknown key "${key}"${suggestion(key, TIMEOUT_KEYS)}; allowed keys: ${TIMEOUT_KEYS.join(', ')}`,
        );
      }
      if (!validSeconds(secs)) {
        fail(where, `timeouts.${key}`, `must be a positive number of seconds up to ${MAX_STAGE_SECONDS}`, secs);
      }
      timeouts[key as (typeof TIMEOUT_KEYS)[number]] = secs;
    }
  }

  // install_network
  let installNetwork = false;
  if (obj.install_network !== undefined) {
    if (typeof obj.install_network !== 'boolean') fail(where, 'install_network', 'must be true or false', obj.install_network);
    installNetwork = obj.install_network;
  }

  const pytestK = optionalString(obj, 'pytest_k', where);
  const install = optionalString(obj, 'install', where);
  const patch = optionalString(obj, 'patch', where);
  const image = optionalString(obj, 'image', where);
  if (image !== null && (/\s/.test(image) || image.startsWith('-'))) {
    fail(where, 'image', 'must be an image reference (no whitespace, no leading "-")', image);
  }
  const problemStatement = optionalString(obj, 'problem_statement', where);
  const description = optionalString(obj, 'description', where);

  return {
    task_id: taskId,
    repo,
    ref,
    pytest_k: pytestK,
    tests,
    install,
    patch,
    timeouts,
    image,
    install_network: installNetwork,
    problem_statement: problemStatement,
    description,
  };
}
