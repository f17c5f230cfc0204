/**
 * SWE-bench instance files as published (JSONL, a JSON list or one object; the
 * README lists the fields read) and their mapping onto harness tasks.
 */
import { HarnessError, errorMessage } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { patchFilesOf } from '../core/diff.js';
import { failField as fail, isPlainObject, kindOf } from '../core/values.js';
import { hasControlChars, idProblem, refIsSafe, REPO_NAME_RE, unknownIdError } from './ids.js';
import { LOG_PARSER_NAMES, type EnvSpec, type LogParserName } from './specs.js';
import type { Task } from '../core/types.js';

/** An environment variable name. */
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Instance {
  instance_id: string;
  /** `owner/name`. */
  repo: string;
  base_commit: string;
  /** Gold patch. */
  patch: string | null;
  test_patch: string | null;
  fail_to_pass: string[];
  pass_to_pass: string[];
  problem_statement: string | null;
  version: string | null;
  environment_setup_commit: string | null;
  /** From `image`, `image_name` or `docker_image`. */
  image: string | null;
  /** From `install` or `install_cmd` (or `install_config.install`). */
  install: string | null;
  /** Commands run before `install` (`pre_install`, or `install_config.pre_install`). */
  pre_install: string[];
  /** From `test_cmd` or `test_command` (or `install_config.test_cmd`). */
  test_cmd: string | null;
  /** From `env` or `env_vars` (or `install_config.env_vars`). */
  env: Record<string, string>;
  hints_text: string | null;
  /** SWE-Factory / R2E-Gym `dockerfile`: builds `image` when the engine lacks it. Optional: other code builds Instances too. */
  dockerfile?: string | null;
  /** SWE-Factory / R2E-Gym `eval_script`: run in `image`, it applies the test patch and runs the tests itself. */
  eval_script?: string | null;
  /** The row's own `log_parser` (a LOG_PARSER_NAMES name), over the spec's. */
  log_parser?: LogParserName | null;
}

/** A task made from an instance: the harness Task plus what grading and the agent need. */
export type InstanceTask = Task & {
  test_patch: string | null;
  fail_to_pass: string[];
  pass_to_pass: string[];
  /** The instance's gold patch text (Task.patch is a file path and stays null). */
  gold_patch: string | null;
  env: Record<string, string>;
  test_cmd: string | null;
  /** `owner/name` of the instance (Task.repo may be a local mirror). */
  instance_repo: string;
  /** The spec's log parser; null: the one SWE-bench uses for `instance_repo`. */
  log_parser: LogParserName | null;
  /** Present only for rows with an `eval_script` (so other instances keep their cache keys): see run/eval-script.ts. */
  eval_script?: string;
  dockerfile?: string | null;
  /** Set in prebuilt-image mode only (task/prebuilt.ts), so other runs keep their cache keys: no clone, no install. */
  prebuilt?: PrebuiltLayout;
};

/** Where the repository is and how its env is entered, inside a prebuilt instance image. */
export interface PrebuiltLayout {
  /** Absolute path of the repository (checked out at base_commit, installed). */
  workdir: string;
  /** Shell prefix entering the test environment, or null when the image's PATH already has it. */
  env_prelude: string | null;
}

/** Instances carry their grading data; plain tasks do not. */
export function isInstanceTask(task: Task): task is InstanceTask {
  return 'fail_to_pass' in task && Array.isArray((task as InstanceTask).fail_to_pass);
}

// ---------------------------------------------------------------------------
// Parsing

/** One JSON value of a file and where it came from (`file:3`, `file[2]`, `file`). */
export interface SourcedValue {
  where: string;
  value: unknown;
}

/**
 * Split the text of a JSONL file, a JSON array file or a single-object JSON
 * file into its values with their positions. Invalid JSON is a
 * HarnessError('task') naming the line (JSONL) or the file.
 */
export function splitJsonRecords(text: string, source: string): SourcedValue[] {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '[') {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      throw new HarnessError('task', `${source}: invalid JSON array: ${errorMessage(err)}`);
    }
    return (value as unknown[]).map((v, i) => ({ where: `${source}[${i}]`, value: v }));
  }
  const out: SourcedValue[] = [];
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push({ where: `${source}:${i + 1}`, value: JSON.parse(line) });
    } catch (err) {
      // A single object pretty-printed over several lines.
      if (out.length === 0 && first === '{') {
        try {
          const whole = JSON.parse(body);
          if (isPlainObject(whole)) return [{ where: source, value: whole }];
        } catch {
          // fall through to the line's own error
        }
      }
      throw new HarnessError('task', `${source}:${i + 1}: invalid JSON: ${errorMessage(err)}`);
    }
  }
  return out;
}

/** Parse the text of an instance file. `source` names it in messages (usually its path). */
export function parseInstances(text: string, source: string): Instance[] {
  const instances: Instance[] = [];
  const seen = new Map<string, string>();
  for (const { where, value } of splitJsonRecords(text, source)) {
    const inst = validateInstance(value, where);
    const prev = seen.get(inst.instance_id);
    if (prev !== undefined) {
      throw new HarnessError(
        'task',
        `${where}: field "instance_id": duplicate instance_id ${JSON.stringify(inst.instance_id)} (first at ${prev})`,
      );
    }
    seen.set(inst.instance_id, where);
    instances.push(inst);
  }
  return instances;
}

/** Read and parse an instance file. A file without any instance is an error. */
export async function loadInstances(file: string): Promise<Instance[]> {
  const text = await readInputFile(file, 'instances file');
  const instances = parseInstances(text, file);
  if (instances.length === 0) throw new HarnessError('task', `${file}: no instances in file`);
  return instances;
}

/** The instance with this id; HarnessError('task') naming a few known ids otherwise. */
export function findInstance(instances: readonly Instance[], id: string): Instance {
  const inst = instances.find((i) => i.instance_id === id);
  if (inst) return inst;
  throw unknownIdError('instance', id, instances.map((i) => i.instance_id));
}

/** The first of `names` present (not undefined/null) in obj, with its name. */
function pick(obj: Record<string, unknown>, names: readonly string[]): { name: string; value: unknown } | null {
  for (const name of names) {
    const v = obj[name];
    if (v !== undefined && v !== null) return { name, value: v };
  }
  return null;
}

/** Optional text: null/missing/"" -> null. */
function optionalText(obj: Record<string, unknown>, names: readonly string[], where: string): string | null {
  const p = pick(obj, names);
  if (!p) return null;
  if (typeof p.value !== 'string') fail(where, p.name, 'must be a string or null', p.value);
  return p.value === '' ? null : p.value;
}

/** A list of test ids: a JSON array of strings, or a string holding one. */
function testList(obj: Record<string, unknown>, names: readonly string[], where: string): string[] {
  const found = names.filter((n) => obj[n] !== undefined && obj[n] !== null);
  if (found.length === 0) return [];
  const lists = found.map((name) => ({ name, list: oneTestList(obj[name], name, where) }));
  const [a, ...rest] = lists;
  for (const b of rest) {
    if (JSON.stringify(b.list) !== JSON.stringify(a!.list)) {
      throw new HarnessError('task', `${where}: fields "${a!.name}" and "${b.name}" are both given and differ`);
    }
  }
  return a!.list;
}

function oneTestList(raw: unknown, field: string, where: string): string[] {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return [];
    try {
      value = JSON.parse(raw);
    } catch (err) {
      fail(where, field, `must be a JSON array of test ids (or a string holding one); the string is not JSON (${errorMessage(err)})`, raw);
    }
  }
  if (!Array.isArray(value)) fail(where, field, 'must be an array of test ids (or a string holding one)', raw);
  return value.map((t: unknown, i: number) => {
    if (typeof t !== 'string' || t.trim() === '') fail(where, `${field}[${i}]`, 'must be a non-empty string', t);
    if (hasControlChars(t)) fail(where, `${field}[${i}]`, 'must not contain control characters', t);
    return t;
  });
}

function commandList(value: unknown, field: string, where: string): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (!Array.isArray(value)) fail(where, field, 'must be a list of commands', value);
  return value.map((c: unknown, i: number) => {
    if (typeof c !== 'string' || c.trim() === '') fail(where, `${field}[${i}]`, 'must be a non-empty string', c);
    return c;
  });
}

function envMap(value: unknown, field: string, where: string): Record<string, string> {
  if (!isPlainObject(value)) fail(where, field, 'must be an object of environment variables', value);
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!ENV_NAME_RE.test(name)) fail(where, `${field}.${name}`, 'is not a valid environment variable name', name);
    if (typeof v === 'string') env[name] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') env[name] = String(v);
    else fail(where, `${field}.${name}`, 'must be a string', v);
  }
  return env;
}

function versionText(obj: Record<string, unknown>, where: string): string | null {
  const v = obj.version;
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  // pandas exports write 2.0 as 2 or 2.0; both parse to 2.
  if (typeof v === 'number' && Number.isFinite(v)) return Number.isInteger(v) ? `${v}.0` : String(v);
  fail(where, 'version', 'must be a string', v);
}

function imageRef(obj: Record<string, unknown>, where: string): string | null {
  const p = pick(obj, ['image', 'image_name', 'docker_image']);
  if (!p) return null;
  if (typeof p.value !== 'string') fail(where, p.name, 'must be a string or null', p.value);
  if (p.value === '') return null;
  if (/\s/.test(p.value) || p.value.startsWith('-') || hasControlChars(p.value)) {
    fail(where, p.name, 'must be an image reference (no whitespace, no leading "-")', p.value);
  }
  return p.value;
}

function validateInstance(value: unknown, where: string): Instance {
  if (!isPlainObject(value)) {
    throw new HarnessError('task', `${where}: expected a JSON object, got ${kindOf(value)}`);
  }
  const obj = value;
  return {
    instance_id: instanceIdField(obj.instance_id, where),
    repo: repoField(obj.repo, where),
    base_commit: baseCommitField(obj.base_commit, where),
    patch: optionalText(obj, ['patch'], where),
    test_patch: optionalText(obj, ['test_patch'], where),
    fail_to_pass: testList(obj, ['FAIL_TO_PASS', 'fail_to_pass'], where),
    pass_to_pass: testList(obj, ['PASS_TO_PASS', 'pass_to_pass'], where),
    problem_statement: optionalText(obj, ['problem_statement'], where),
    version: versionText(obj, where),
    environment_setup_commit: optionalText(obj, ['environment_setup_commit'], where),
    image: imageRef(obj, where),
    ...environmentFields(obj, where),
    hints_text: optionalText(obj, ['hints_text'], where),
    ...transferredFields(obj, where),
  };
}

/** SWE-Factory / R2E-Gym fields, as keys only when the row has them (plain rows keep their shape). */
function transferredFields(obj: Record<string, unknown>, where: string): Pick<Instance, 'dockerfile' | 'eval_script' | 'log_parser'> {
  const out: Pick<Instance, 'dockerfile' | 'eval_script' | 'log_parser'> = {};
  const dockerfile = optionalText(obj, ['dockerfile'], where);
  const evalScript = optionalText(obj, ['eval_script'], where);
  const parser = logParserField(obj.log_parser, where);
  if (dockerfile !== null) out.dockerfile = dockerfile;
  if (evalScript !== null) out.eval_script = evalScript;
  if (parser !== null) out.log_parser = parser;
  return out;
}

function logParserField(name: unknown, where: string): LogParserName | null {
  if (name === undefined || name === null || name === '') return null;
  if (typeof name !== 'string' || !(LOG_PARSER_NAMES as readonly string[]).includes(name)) {
    fail(where, 'log_parser', `must be one of ${LOG_PARSER_NAMES.join(', ')}`, name);
  }
  return name as LogParserName;
}

function instanceIdField(id: unknown, where: string): string {
  if (id === undefined || id === null) fail(where, 'instance_id', 'is required (a non-empty string)', id);
  const problem = idProblem(id);
  if (problem) fail(where, 'instance_id', problem, id);
  return id as string;
}

function repoField(repo: unknown, where: string): string {
  if (repo === undefined || repo === null) fail(where, 'repo', 'is required ("owner/name")', repo);
  if (typeof repo !== 'string' || !REPO_NAME_RE.test(repo)) fail(where, 'repo', 'must be "owner/name"', repo);
  return repo;
}

function baseCommitField(commit: unknown, where: string): string {
  if (commit === undefined || commit === null) fail(where, 'base_commit', 'is required (a commit id)', commit);
  if (typeof commit !== 'string' || commit === '') fail(where, 'base_commit', 'must be a non-empty string', commit);
  if (!refIsSafe(commit)) fail(where, 'base_commit', 'must be a commit id (no whitespace, no leading "-", no "..")', commit);
  return commit;
}

/** SWE-rebench keeps install data in one object (sometimes as JSON text); {} when absent. */
function installConfig(obj: Record<string, unknown>, where: string): Record<string, unknown> {
  let raw = obj.install_config;
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      fail(where, 'install_config', `must be an object (or a string holding one); the string is not JSON (${errorMessage(err)})`, raw);
    }
  }
  if (!isPlainObject(raw)) fail(where, 'install_config', 'must be an object', obj.install_config);
  return raw;
}

/** install, pre_install, test_cmd and env: the instance's own fields, else install_config's. */
function environmentFields(obj: Record<string, unknown>, where: string): Pick<Instance, 'install' | 'pre_install' | 'test_cmd' | 'env'> {
  const cfg = installConfig(obj, where);
  const fromCfg = (key: string) => (cfg[key] != null ? { name: `install_config.${key}`, value: cfg[key] } : null);
  const install =
    optionalText(obj, ['install', 'install_cmd'], where) ??
    (cfg.install !== undefined && cfg.install !== null ? optionalText(cfg, ['install'], `${where}: install_config`) : null);
  const pre = pick(obj, ['pre_install']) ?? fromCfg('pre_install');
  const preInstall = pre ? commandList(pre.value, pre.name, where) : [];
  const test = pick(obj, ['test_cmd', 'test_command']) ?? fromCfg('test_cmd');
  const testCmds = test ? commandList(test.value, test.name, where) : [];
  const env = pick(obj, ['env', 'env_vars']) ?? fromCfg('env_vars');
  return {
    install,
    pre_install: preInstall,
    test_cmd: testCmds.length ? testCmds.join('\n') : null,
    env: env ? envMap(env.value, env.name, where) : {},
  };
}

/**
 * The normalised row of an instance, as `import-instances` writes it: the
 * published SWE-bench field names, FAIL_TO_PASS / PASS_TO_PASS as real
 * arrays, and the optional environment fields only when set. Parsing the
 * row again gives the same Instance.
 */
export function instanceToRow(inst: Instance): Record<string, unknown> {
  const row: Record<string, unknown> = {
    instance_id: inst.instance_id,
    repo: inst.repo,
    base_commit: inst.base_commit,
    patch: inst.patch,
    test_patch: inst.test_patch,
    FAIL_TO_PASS: inst.fail_to_pass,
    PASS_TO_PASS: inst.pass_to_pass,
    problem_statement: inst.problem_statement,
    hints_text: inst.hints_text,
    version: inst.version,
    environment_setup_commit: inst.environment_setup_commit,
  };
  if (inst.image !== null) row.image_name = inst.image;
  if (inst.pre_install.length) row.pre_install = inst.pre_install;
  if (inst.install !== null) row.install = inst.install;
  if (inst.test_cmd !== null) row.test_cmd = inst.test_cmd;
  if (Object.keys(inst.env).length) row.env = inst.env;
  if (inst.dockerfile) row.dockerfile = inst.dockerfile;
  if (inst.eval_script) row.eval_script = inst.eval_script;
  if (inst.log_parser) row.log_parser = inst.log_parser;
  return row;
}

// ---------------------------------------------------------------------------
// Tasks

/** Test limit of eval-script rows unless a spec or the CLI sets one: SWE-Factory's default `--eval-timeout`. */
export const EVAL_SCRIPT_TEST_TIMEOUT = 300;

export interface InstanceToTaskOptions {
  /** Where to clone from instead of `owner/name` (a local mirror, a URL). */
  repoSource?: string;
  /** Override the install step's network access (default: the spec's `install_network`, else false). */
  installNetwork?: boolean;
}

/**
 * One shell script from pre-install commands and the install command. With
 * pre-install commands it is run under `set -e`, one command per line, as
 * SWE-bench's setup script runs them (so `A=1` lines carry over).
 */
export function composeInstall(preInstall: readonly string[], install: string | null): string | null {
  const cmds = [...preInstall, ...(install !== null ? [install] : [])];
  if (cmds.length === 0) return null;
  if (preInstall.length === 0) return install;
  return ['set -e', ...cmds].join('\n');
}

/**
 * Map an instance onto a harness task.
 *
 * - `task_id` = instance_id; `repo` = `opts.repoSource` ?? `owner/name`;
 *   `ref` = base_commit;
 * - `tests` = the test files touched by the test patch (`testFilesOf`),
 *   run whole as SWE-bench does; `pytest_k` null;
 * - `install`: the instance's own `pre_install` + `install` if it has either,
 *   else the spec's (the pair comes from one source, never mixed); null
 *   when neither has one;
 * - `image`: instance, else spec, else null; `env`: spec overlaid by the instance;
 *   `test_cmd`: instance, else spec;
 * - `timeouts` and `install_network` from the spec (opts may override the network);
 * - `patch` (a file path in Task) stays null: the gold patch text is `gold_patch`;
 * - `eval_script` / `dockerfile` (SWE-Factory rows, run by run/eval-script.ts) only when the row has an eval script.
 */
export function instanceToTask(inst: Instance, spec: EnvSpec | null, opts: InstanceToTaskOptions = {}): InstanceTask {
  const fromInstance = inst.install !== null || inst.pre_install.length > 0;
  const install = fromInstance
    ? composeInstall(inst.pre_install, inst.install)
    : composeInstall(spec?.pre_install ?? [], spec?.install ?? null);
  const versionNote = inst.version ? ` ${inst.version}` : '';
  return {
    task_id: inst.instance_id,
    repo: opts.repoSource ?? inst.repo,
    ref: inst.base_commit,
    pytest_k: null,
    tests: inst.test_patch ? testFilesOf(inst.test_patch) : [],
    install,
    patch: null,
    timeouts: { ...(spec?.timeouts ?? {}) },
    image: inst.image ?? spec?.image ?? null,
    install_network: opts.installNetwork ?? spec?.install_network ?? false,
    problem_statement: inst.problem_statement,
    description: `SWE-bench instance of ${inst.repo}${versionNote}`,
    test_patch: inst.test_patch,
    fail_to_pass: [...inst.fail_to_pass],
    pass_to_pass: [...inst.pass_to_pass],
    gold_patch: inst.patch,
    env: { ...(spec?.env ?? {}), ...inst.env },
    test_cmd: inst.test_cmd ?? spec?.test_cmd ?? null,
    instance_repo: inst.repo,
    log_parser: inst.log_parser ?? spec?.log_parser ?? null,
    // Keys only when set: other instances keep the cache keys their results were written with.
    ...(inst.eval_script
      ? { eval_script: inst.eval_script, dockerfile: inst.dockerfile ?? null, timeouts: { test: EVAL_SCRIPT_TEST_TIMEOUT, ...(spec?.timeouts ?? {}) } }
      : {}),
  };
}

// ---------------------------------------------------------------------------
// Test patches

/**
 * Extensions SWE-bench drops from test directives (`NON_TEST_EXTS` in
 * swebench/harness/constants; `"csv"` really has no dot there).
 */
export const NON_TEST_EXTS = ['.json', '.png', 'csv', '.txt', '.md', '.jpg', '.jpeg', '.pkl', '.yml', '.yaml', '.toml'] as const;

/**
 * The test files a test patch touches, as SWE-bench's `get_test_directives`
 * picks them for pytest repositories: the new-side path of every file of the
 * patch (`diff --git a/X b/Y` → `Y`, so a renamed file counts under its new
 * name and an added file is included), without files whose name ends in one
 * of SWE-bench's NON_TEST_EXTS (`.json`, `.txt`, `.md`, `.yml`, ...), in
 * patch order, each once.
 *
 * One deliberate difference: deleted files are left out (SWE-bench would
 * pass their path to pytest, which then fails with "file not found").
 *
 * Only pytest-style directives (file paths) are produced. SWE-bench turns
 * the paths into module names for django (`tests/x/tests.py` →
 * `x.tests`) and uses its own runner for sympy; those repositories are not
 * supported here.
 */
export function testFilesOf(testPatch: string): string[] {
  const out: string[] = [];
  for (const f of patchFilesOf(testPatch)) {
    if (f.kind === 'deleted') continue;
    if (NON_TEST_EXTS.some((ext) => f.path.endsWith(ext))) continue;
    if (!out.includes(f.path)) out.push(f.path);
  }
  return out;
}
