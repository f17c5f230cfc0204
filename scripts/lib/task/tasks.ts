/**
 * Tasks files (seed_tasks.jsonl): one task object per line, each checked with
 * a one-line HarnessError('task') naming the file, the line and the field.
 */
import path from 'node:path';
import { MAX_STAGE_SECONDS, ROOT, validSeconds } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import type { Task } from '../core/types.js';
import { failField as fail, isPlainObject, kindOf } from '../core/values.js';
import { hasControlChars, idProblem, REF_RULE, refIsSafe, unknownIdError } from './ids.js';

/** The name in `fixture:<name>` (a shipped fixture repository). */
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

/** The task with this id; HarnessError('task') naming some known ids otherwise. */
export function findTask(tasks: readonly Task[], id: string): Task {
  const task = tasks.find((t) => t.task_id === id);
  if (task) return task;
  throw unknownIdError('task', id, tasks.map((t) => t.task_id));
}

/**
 * Absolute path of the task's own patch file (relative paths are relative to the
 * swe-harness root, not to the task file), or null when the task has none.
 */
export function resolveTaskPatchPath(task: Pick<Task, 'patch'>, root: string = ROOT): string | null {
  if (task.patch === null) return null;
  return path.isAbsolute(task.patch) ? path.normalize(task.patch) : path.resolve(root, task.patch);
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
  if (!isPlainObject(value)) throw new HarnessError('task', `${where}: expected a JSON object, got ${kindOf(value)}`);
  refuseUnknownFields(value, where);
  const image = optionalString(value, 'image', where);
  if (image !== null && (/\s/.test(image) || image.startsWith('-'))) {
    fail(where, 'image', 'must be an image reference (no whitespace, no leading "-")', image);
  }
  return {
    task_id: taskIdField(value.task_id, where),
    repo: repoField(value.repo, where),
    ref: refField(value.ref, where),
    pytest_k: optionalString(value, 'pytest_k', where),
    tests: testsField(value.tests, where),
    install: optionalString(value, 'install', where),
    patch: optionalString(value, 'patch', where),
    timeouts: timeoutsField(value.timeouts, where),
    image,
    install_network: installNetworkField(value.install_network, where),
    problem_statement: optionalString(value, 'problem_statement', where),
    description: optionalString(value, 'description', where),
  };
}

function refuseUnknownFields(obj: Record<string, unknown>, where: string): void {
  const unknown = Object.keys(obj).filter((k) => !(TASK_FIELDS as readonly string[]).includes(k));
  if (unknown.length === 0) return;
  const names = unknown.map((k) => `"${k}"`).join(', ');
  throw new HarnessError(
    'task',
    `${where}: unknown field${unknown.length > 1 ? 's' : ''} ${names}${suggestion(unknown[0]!, TASK_FIELDS)}; allowed fields: ${TASK_FIELDS.join(', ')}`,
  );
}

function taskIdField(id: unknown, where: string): string {
  if (id === undefined) fail(where, 'task_id', 'is required (a non-empty string)', id);
  const problem = idProblem(id);
  if (problem) fail(where, 'task_id', problem, id);
  return id as string;
}

function repoField(repo: unknown, where: string): string {
  if (repo === undefined) fail(where, 'repo', 'is required (a non-empty string)', repo);
  if (typeof repo !== 'string' || repo.trim() === '') fail(where, 'repo', 'must be a non-empty string', repo);
  if (repo !== repo.trim() || hasControlChars(repo)) fail(where, 'repo', 'must not contain surrounding whitespace or control characters', repo);
  if (repo.startsWith('-')) fail(where, 'repo', 'must not start with "-"', repo);
  if (repo.startsWith('fixture:') && !FIXTURE_NAME_RE.test(repo.slice('fixture:'.length))) {
    fail(where, 'repo', 'must be "fixture:<name>" with a name of letters, digits, ".", "_" and "-"', repo);
  }
  return repo;
}

function refField(ref: unknown, where: string): string {
  if (ref === undefined) fail(where, 'ref', 'is required (a non-empty string)', ref);
  if (typeof ref !== 'string' || ref === '') fail(where, 'ref', 'must be a non-empty string', ref);
  if (!refIsSafe(ref)) fail(where, 'ref', REF_RULE, ref);
  return ref;
}

function testsField(tests: unknown, where: string): string[] {
  if (tests === undefined) return [];
  if (!Array.isArray(tests)) fail(where, 'tests', 'must be an array of strings', tests);
  return tests.map((t: unknown, i: number) => {
    if (typeof t !== 'string' || t.trim() === '') fail(where, `tests[${i}]`, 'must be a non-empty string', t);
    if (t.startsWith('-')) fail(where, `tests[${i}]`, 'must be a test path or node id, not an option', t);
    if (hasControlChars(t)) fail(where, `tests[${i}]`, 'must not contain control characters', t);
    return t;
  });
}

function timeoutsField(t: unknown, where: string): Task['timeouts'] {
  const timeouts: Task['timeouts'] = {};
  if (t === undefined) return timeouts;
  if (!isPlainObject(t)) fail(where, 'timeouts', `must be an object with keys ${TIMEOUT_KEYS.join(', ')}`, t);
  for (const [key, secs] of Object.entries(t)) {
    if (!(TIMEOUT_KEYS as readonly string[]).includes(key)) {
      throw new HarnessError(
        'task',
        `${where}: field "timeouts" has unknown key "${key}"${suggestion(key, TIMEOUT_KEYS)}; allowed keys: ${TIMEOUT_KEYS.join(', ')}`,
      );
    }
    if (!validSeconds(secs)) fail(where, `timeouts.${key}`, `must be a positive number of seconds up to ${MAX_STAGE_SECONDS}`, secs);
    timeouts[key as (typeof TIMEOUT_KEYS)[number]] = secs;
  }
  return timeouts;
}

function installNetworkField(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(where, 'install_network', 'must be true or false', v);
  return v;
}
