/**
 * Instances as Harbor tasks (Terminal-Bench's successor format): one
 * directory per instance with `instruction.md`, `task.toml`,
 * `environment/Dockerfile`, `tests/test.sh` and `solution/solve.sh`.
 *
 * The tests grade as the harness does: test.sh resets the files the
 * test_patch touches to base_commit, applies the test_patch, runs the
 * harness's own test command for the instance (its runner's argv) and hands
 * the output to `tests/grade.py` (harbor_grade.py, a port of the harness's
 * pytest parser and SWE-bench grading), which writes Harbor's reward:
 * `/logs/verifier/reward.txt`, 1 when resolved, else 0. The environment holds
 * the repository at base_commit in /testbed, installed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError, errorMessage } from '../core/errors.js';
import { patchFilesOf } from '../core/diff.js';
import type { Instance, InstanceTask } from '../task/instances.js';
import type { EnvSpec } from '../task/specs.js';
import { resolveRepo } from '../source/repo.js';
import { LOG_PARSERS, logParserForRepo } from '../testing/parsers/index.js';
import { runnerFor } from '../testing/runner.js';

/** Where the repository lives in an exported environment (SWE-bench's layout). */
export const HARBOR_WORKDIR = '/testbed';
/** Harbor's verifier directory: reward.txt goes there. */
export const VERIFIER_LOGS = '/logs/verifier';
const GRADER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harbor_grade.py');

export interface HarborExportOptions {
  /** Image the environment starts FROM when the instance has none of its own. */
  baseImage: string;
  reposDir?: string;
  repoPaths?: Record<string, string>;
}

export interface ExportedTask {
  dir: string;
  /** How the environment gets the repository. */
  source: 'image' | 'bundle' | 'github';
}

/** Single-quoted for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A directory name for an instance id (ids are already `[A-Za-z0-9._-]`; Harbor lowercases nothing, neither do we). */
function taskDirName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

function parserOf(task: InstanceTask) {
  return task.log_parser ? LOG_PARSERS[task.log_parser] : logParserForRepo(task.instance_repo);
}

/** Why an instance cannot be exported (its grader implements the pytest family only), or null when it can. */
export function harborUnsupported(task: InstanceTask): string | null {
  if (task.eval_script) return 'it has an eval_script, which grades it instead of the harness';
  const parser = parserOf(task);
  if (parser.match !== 'pytest') return `its log parser "${parser.name}" is not one the exported grader implements (pytest-style only)`;
  return null;
}

/**
 * Write one Harbor task directory for an instance under `outDir`.
 * @throws HarnessError('task') for an instance `harborUnsupported` refuses.
 */
export async function exportHarborTask(inst: Instance, task: InstanceTask, spec: EnvSpec | null, outDir: string, opts: HarborExportOptions): Promise<ExportedTask> {
  const why = harborUnsupported(task);
  if (why) throw new HarnessError('task', `${task.task_id}: cannot export: ${why}`);
  const parser = parserOf(task);
  const dir = path.join(outDir, taskDirName(task.task_id));
  fs.rmSync(dir, { recursive: true, force: true });
  for (const sub of ['environment', 'tests', 'solution']) fs.mkdirSync(path.join(dir, sub), { recursive: true });

  const env = await environment(inst, task, spec, path.join(dir, 'environment'), opts);
  fs.writeFileSync(path.join(dir, 'environment', 'Dockerfile'), env.dockerfile);
  fs.writeFileSync(path.join(dir, 'instruction.md'), instruction(task));
  fs.writeFileSync(path.join(dir, 'task.toml'), taskToml(task));

  // The harness's own command for this instance: its runner's argv over the test files.
  const argv = runnerFor(parser).argv({ k: null, tests: task.tests, command: task.test_cmd });
  const command = [...(env.prelude ? [env.prelude, '&&'] : []), ...argv.map(shq)].join(' ');
  fs.writeFileSync(path.join(dir, 'tests', 'test.patch'), task.test_patch ?? '');
  fs.writeFileSync(
    path.join(dir, 'tests', 'config.json'),
    `${JSON.stringify({ instance_id: task.task_id, fail_to_pass: task.fail_to_pass, pass_to_pass: task.pass_to_pass, test_files: task.tests, parser: parser.name }, null, 2)}\n`,
  );
  fs.copyFileSync(GRADER, path.join(dir, 'tests', 'grade.py'));
  writeScript(path.join(dir, 'tests', 'test.sh'), testSh(task, command));
  fs.writeFileSync(path.join(dir, 'solution', 'gold.patch'), task.gold_patch ?? '');
  writeScript(path.join(dir, 'solution', 'solve.sh'), solveSh());
  return { dir, source: env.source };
}

function writeScript(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o755 });
}

/** Variables for the Dockerfile's ENV and test.sh (the instance's and spec's `env`). */
function envLines(vars: Record<string, string>, form: 'docker' | 'bash'): string[] {
  return Object.entries(vars).map(([k, v]) => (form === 'docker' ? `ENV ${k}=${JSON.stringify(v)}` : `export ${k}=${shq(v)}`));
}

/**
 * The environment's Dockerfile: the instance's own image when it has one (the
 * repository already in /testbed, as SWE-bench's instance images hold it);
 * else the base image with the repository from a git bundle next to the
 * Dockerfile (local repositories: the shipped fixtures, --repo-path), or
 * cloned from GitHub; then the install command.
 */
async function environment(inst: Instance, task: InstanceTask, spec: EnvSpec | null, envDir: string, opts: HarborExportOptions) {
  const vars = envLines(task.env, 'docker');
  if (inst.image) {
    const dockerfile = [`FROM ${inst.image}`, ...vars, `WORKDIR ${spec?.workdir ?? HARBOR_WORKDIR}`, ''].join('\n');
    return { dockerfile, source: 'image' as const, prelude: spec?.env_prelude ?? null };
  }
  const from = spec?.image ?? opts.baseImage;
  const source = await resolveRepo(inst.repo, { reposDir: opts.reposDir, repoPaths: opts.repoPaths, ref: inst.base_commit });
  const install = task.install ? ` && bash -c ${shq(task.install)}` : '';
  const checkout = `cd ${HARBOR_WORKDIR} && git checkout -q ${inst.base_commit} && git remote remove origin`;
  if (source.kind === 'local') {
    try {
      execFileSync('git', ['-C', source.hostPath, 'bundle', 'create', path.join(envDir, 'repo.bundle'), '--all'], { stdio: 'pipe' });
    } catch (err) {
      throw new HarnessError('task', `${task.task_id}: could not bundle ${source.hostPath}: ${errorMessage((err as { stderr?: Buffer }).stderr?.toString() || err)}`);
    }
    const dockerfile = [
      `FROM ${from}`,
      ...vars,
      'COPY repo.bundle /tmp/repo.bundle',
      `RUN git clone -q /tmp/repo.bundle ${HARBOR_WORKDIR} && rm /tmp/repo.bundle && ${checkout}${install}`,
      `WORKDIR ${HARBOR_WORKDIR}`,
      '',
    ].join('\n');
    return { dockerfile, source: 'bundle' as const, prelude: null };
  }
  const dockerfile = [
    `FROM ${from}`,
    ...vars,
    `RUN git clone -q https://github.com/${inst.repo} ${HARBOR_WORKDIR} && ${checkout}${install}`,
    `WORKDIR ${HARBOR_WORKDIR}`,
    '',
  ].join('\n');
  return { dockerfile, source: 'github' as const, prelude: null };
}

function instruction(task: InstanceTask): string {
  return [
    `# ${task.task_id}`,
    '',
    `The repository ${task.instance_repo} is checked out in \`${HARBOR_WORKDIR}\` at the commit the issue below was reported against, with its dependencies installed.`,
    'Change the code so that the issue is resolved. Do not change the tests: hidden tests decide.',
    '',
    '## Issue',
    '',
    task.problem_statement ?? '(no problem statement)',
    '',
  ].join('\n');
}

/** task.toml in Harbor's schema ("1.0": [metadata], [verifier], [agent], [environment]). JSON strings are valid TOML basic strings. */
function taskToml(task: InstanceTask): string {
  const testS = Math.max(600, (task.timeouts.test ?? 0) * 4);
  const q = JSON.stringify;
  return [
    'version = "1.0"',
    '',
    '[metadata]',
    `source = ${q('swe-harness')}`,
    `instance_id = ${q(task.task_id)}`,
    `repo = ${q(task.instance_repo)}`,
    `base_commit = ${q(task.ref)}`,
    'category = "software-engineering"',
    `tags = ${q(['swe-bench', task.instance_repo])}`,
    '',
    '[verifier]',
    `timeout_sec = ${testS.toFixed(1)}`,
    '',
    '[agent]',
    'timeout_sec = 1800.0',
    '',
    '[environment]',
    'build_timeout_sec = 1800.0',
    'cpus = 2',
    'memory_mb = 2048',
    'storage_mb = 10240',
    '',
  ].join('\n');
}

/** The verifier: reward 0 unless the grader says resolved. */
function testSh(task: InstanceTask, command: string): string {
  const base = task.ref;
  const files = task.test_patch ? patchFilesOf(task.test_patch).map((f) => f.path) : [];
  return [
    '#!/bin/bash',
    '# Exported by swe-harness: grades the candidate in /testbed as the harness does (SWE-bench\'s rules).',
    'set -uo pipefail',
    'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    `LOGS=${VERIFIER_LOGS}`,
    'mkdir -p "$LOGS"',
    'echo 0 > "$LOGS/reward.txt"',
    `cd ${HARBOR_WORKDIR} || exit 1`,
    '# The files the test patch touches go back to the base commit (files it adds are removed), then the test patch goes on.',
    `for f in ${files.map(shq).join(' ')}; do`,
    `  if git cat-file -e ${base}:"$f" 2>/dev/null; then git checkout -q ${base} -- "$f"; else rm -rf -- "$f"; fi`,
    'done',
    'if [ -s "$HERE/test.patch" ] && ! git apply --whitespace=nowarn "$HERE/test.patch"; then',
    '  if ! patch --batch --forward --fuzz=3 -p1 -i "$HERE/test.patch"; then echo "swe-harness: the test patch does not apply"; exit 0; fi',
    'fi',
    ...envLines(task.env, 'bash'),
    `${command} > "$LOGS/test_output.log" 2>&1`,
    'rc=$?',
    'cat "$LOGS/test_output.log"',
    'python3 "$HERE/grade.py" "$HERE/config.json" "$LOGS/test_output.log" "$rc" "$LOGS"',
    '',
  ].join('\n');
}

function solveSh(): string {
  return [
    '#!/bin/bash',
    '# The gold patch, applied as the harness applies patches (git apply, else patch --fuzz).',
    'set -euo pipefail',
    'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    `cd ${HARBOR_WORKDIR}`,
    'git apply --whitespace=nowarn "$HERE/gold.patch" || patch --batch --forward --fuzz=3 -p1 -i "$HERE/gold.patch"',
    '',
  ].join('\n');
}
