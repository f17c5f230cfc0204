/**
 * SWE-bench instances on the real engine: the shipped `tasks/instances.jsonl`
 * (built on the shipped statskit and frametools repos) run with no patch,
 * the gold patch and candidate patches, graded as SWE-bench grades them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { testFilesOf, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadPredictions, parsePredictions } from '../../scripts/lib/task/predictions.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import type { PatchInput } from '../../scripts/lib/core/types.js';
import { isInstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTaskSet, patchFor } from '../../scripts/lib/task/taskset.js';
import { patchFilesOf } from '../../scripts/lib/core/diff.js';
import { readJsonl } from '../support/helpers.js';

const INSTANCES = path.join(ROOT, 'tasks', 'instances.jsonl');
const PREDS_DIR = path.join(ROOT, 'tests', 'fixtures', 'preds');
const STATSKIT = 'swe-harness__statskit-1';
const FRAMETOOLS = 'swe-harness__frametools-1';
/** The published fields of a SWE-bench row (SWE-bench Lite / Verified), exactly. */
const SWEBENCH_FIELDS = [
  'FAIL_TO_PASS',
  'PASS_TO_PASS',
  'base_commit',
  'created_at',
  'environment_setup_commit',
  'hints_text',
  'instance_id',
  'patch',
  'problem_statement',
  'repo',
  'test_patch',
  'version',
];

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-instances-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir };
/** Stage limits with room for a loaded 2-core machine (the defaults are tuned for speed). */
const timeouts = { clone: 60, install: 120, test: 60 };
const rows = readJsonl(INSTANCES);
let tasks: InstanceTask[];

beforeAll(async () => {
  const loaded = await loadTaskSet({ instancesFile: INSTANCES });
  tasks = loaded.filter(isInstanceTask);
  expect(tasks).toHaveLength(loaded.length);
});

const task = (id: string) => tasks.find((t) => t.task_id === id)!;
const patchFile = (name: string) => fs.readFileSync(path.join(PREDS_DIR, 'patches', name), 'utf8');

/** A prediction for one instance, through the same parsing and lookup a predictions file gets. */
function predicted(id: string, modelPatch: string | null): PatchInput {
  const line = JSON.stringify({ instance_id: id, model_name_or_path: 'test', model_patch: modelPatch });
  const preds = parsePredictions(`${line}\n`, 'inline.jsonl');
  return patchFor(task(id), { kind: 'predictions', file: 'inline.jsonl', preds })!;
}

const stageNames = (r: { stages: Array<{ name: string }> }) => r.stages.map((s) => s.name);

async function expectNoContainerFor(runDir: string) {
  expect(await listHarnessContainers(path.basename(runDir))).toEqual([]);
}

describe('the shipped instances file', () => {
  it('holds SWE-bench rows with exactly the published fields and the test lists as JSON-encoded strings', () => {
    expect(rows.map((r) => r.instance_id)).toEqual([STATSKIT, FRAMETOOLS]);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(SWEBENCH_FIELDS);
      expect(typeof row.FAIL_TO_PASS).toBe('string');
      expect(typeof row.PASS_TO_PASS).toBe('string');
      expect(JSON.parse(row.FAIL_TO_PASS as string).length).toBeGreaterThan(0);
      expect(JSON.parse(row.PASS_TO_PASS as string).length).toBeGreaterThan(0);
      expect(row.environment_setup_commit).toBe(row.base_commit);
    }
  });

  it.each([
    [STATSKIT, 'statskit'],
    [FRAMETOOLS, 'frametools'],
  ])('pins %s to the commit the %s fixture builds', async (id, fixture) => {
    const { head } = await ensureFixture(fixture);
    const row = rows.find((r) => r.instance_id === id)!;
    expect(row.repo).toBe(`swe-harness/${fixture}`);
    expect(row.base_commit, `${id}: tasks/instances.jsonl base_commit is stale; the fixture builds ${head}`).toBe(head);
  });

  it.each([
    [STATSKIT, 'statskit'],
    [FRAMETOOLS, 'frametools'],
  ])('gives %s the fix of tasks/%s as its gold patch, touching no test file, and a test patch touching only tests', (id, fixture) => {
    const row = rows.find((r) => r.instance_id === id)!;
    expect(row.patch).toBe(fs.readFileSync(path.join(ROOT, 'tasks', fixture, 'fix.patch'), 'utf8'));
    expect(patchFilesOf(row.patch as string).every((f) => !f.path.startsWith('tests/'))).toBe(true);
    expect(patchFilesOf(row.test_patch as string).every((f) => f.path.startsWith('tests/'))).toBe(true);
  });

  it('runs the statskit instance on the test file its test patch adds and the one it modifies', () => {
    expect(patchFilesOf(task(STATSKIT).test_patch!)).toEqual([
      { path: 'tests/test_regression.py', old_path: null, kind: 'added' },
      { path: 'tests/test_rolling.py', old_path: 'tests/test_rolling.py', kind: 'modified' },
    ]);
    expect(task(STATSKIT).tests).toEqual(['tests/test_regression.py', 'tests/test_rolling.py']);
    expect(task(FRAMETOOLS).tests).toEqual(['tests/test_fill.py']);
  });

  it('lists a parametrised id with a space in the cut form SWE-bench\'s log parser produces, and a bare test name', () => {
    expect(task(STATSKIT).fail_to_pass).toContain('tests/test_regression.py::test_window_label[two');
    expect(task(FRAMETOOLS).fail_to_pass).toContain('tests/test_fill.py::test_fill_group_starting_with_gap[north');
    expect(task(STATSKIT).pass_to_pass).toContain('test_rolling_sum_values');
    expect(task(FRAMETOOLS).pass_to_pass).toContain('test_fill_missing_column');
  });

  it('ships the same predictions as preds.jsonl and as a mini-swe-agent preds.json dict', async () => {
    const jsonl = await loadPredictions(path.join(PREDS_DIR, 'preds.jsonl'));
    const dict = await loadPredictions(path.join(PREDS_DIR, 'preds.json'));
    expect(fs.readFileSync(path.join(PREDS_DIR, 'preds.json'), 'utf8').trimStart()).toMatch(/^\{\s*"swe-harness__/);
    expect([...dict.entries()]).toEqual([...jsonl.entries()]);
    expect(jsonl.get(STATSKIT)!.model_patch).toBe(task(STATSKIT).gold_patch);
    expect(jsonl.get(FRAMETOOLS)!.model_patch).toBe(patchFile('frametools-wrong.diff'));
  });
});

describe('instance runs on the real engine', () => {
  it('resolves the statskit instance with its gold patch, running the stages SWE-bench runs', async () => {
    const t = task(STATSKIT);
    const { result, runDir } = await runTask(t, { cfg, timeouts, patch: patchFor(t, { kind: 'task' }) });
    expect(result.status).toBe('passed');
    expect(result.exit_code).toBe(0);
    expect(result.resolved).toBe(true);
    expect(result.patch!.source).toBe('gold');
    expect(stageNames(result)).toEqual(['clone', 'install', 'apply_patch', 'apply_test_patch', 'tests_after']);
    expect(result.grading!.fail_to_pass).toEqual({ success: t.fail_to_pass, failure: [] });
    expect(result.grading!.pass_to_pass).toEqual({ success: t.pass_to_pass, failure: [] });
    // The cut id stands for the test with a space in its parameter, which really ran and passed.
    expect(result.grading!.fail_to_pass.success).toContain('tests/test_regression.py::test_window_label[two');
    expect(result.after!.tests['tests/test_regression.py::test_window_label[two words]']).toBe('PASSED');
    // Exactly the test files the test patch touches ran, each of them.
    const files = new Set(Object.keys(result.after!.tests).map((id) => id.split('::')[0]));
    expect([...files].sort()).toEqual([...testFilesOf(t.test_patch!)].sort());
    expect(result.head).toBe(t.ref);
    await expectNoContainerFor(runDir);
  });

  it.each([STATSKIT, FRAMETOOLS])('leaves %s unresolved without a patch, every FAIL_TO_PASS id failing and PASS_TO_PASS intact', async (id) => {
    const t = task(id);
    const { result, runDir } = await runTask(t, { cfg, timeouts, patch: patchFor(t, { kind: 'none' }) });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.resolved).toBe(false);
    expect(result.patch).toBeNull();
    expect(stageNames(result)).toEqual(['clone', 'install', 'apply_test_patch', 'tests_after']);
    expect(result.grading!.fail_to_pass).toEqual({ success: [], failure: t.fail_to_pass });
    expect(result.grading!.pass_to_pass).toEqual({ success: t.pass_to_pass, failure: [] });
    await expectNoContainerFor(runDir);
  });

  it('reports an instance whose test command prints no per-test lines (no -rA) as an error that says why, not as failed', async () => {
    const t = { ...task(STATSKIT), test_cmd: 'python3 -m pytest -p no:cacheprovider' };
    const { result } = await runTask(t, { cfg, timeouts, patch: patchFor(t, { kind: 'task' }) });
    expect(result.after!.status).toBe('error');
    expect(result.after!.counts.passed).toBeGreaterThan(0);
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.error).toMatch(/names no test.*-rA/);
  });

  it('grades a patch that applies but fixes nothing as unresolved, with every FAIL_TO_PASS id failing', async () => {
    const t = task(STATSKIT);
    const { result } = await runTask(t, { cfg, timeouts, patch: predicted(STATSKIT, patchFile('statskit-wrong.diff')) });
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.patch!.applied_with).toBe('git apply');
    expect(result.patch!.source).toBe(`inline.jsonl#${STATSKIT}`);
    expect(result.grading!.fail_to_pass.failure).toEqual(t.fail_to_pass);
    expect(result.grading!.pass_to_pass.failure).toEqual([]);
  });

  it('grades a fix that breaks a PASS_TO_PASS test as unresolved, naming the broken test', async () => {
    const { result } = await runTask(task(STATSKIT), { cfg, timeouts, patch: predicted(STATSKIT, patchFile('statskit-breaks-p2p.diff')) });
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.grading!.fail_to_pass.failure).toEqual([]);
    expect(result.grading!.pass_to_pass.failure).toEqual(['tests/test_rolling.py::test_moving_average_rejects_bad_window[6]']);
    expect(result.after!.tests['tests/test_rolling.py::test_moving_average_rejects_bad_window[6]']).toBe('FAILED');
  });

  it('reports patch_failed for a patch that does not apply, before the test patch and the tests', async () => {
    const { result, runDir } = await runTask(task(STATSKIT), { cfg, timeouts, patch: predicted(STATSKIT, patchFile('statskit-does-not-apply.diff')) });
    expect(result.status).toBe('patch_failed');
    expect(result.exit_code).toBe(5);
    expect(result.error).toMatch(/statskit\/rolling\.py/);
    expect(stageNames(result)).toEqual(['clone', 'install', 'apply_patch']);
    expect(result.resolved).toBe(false);
    expect(result.grading).toBeUndefined();
    await expectNoContainerFor(runDir);
  });

  it.each([
    ['an empty', ''],
    ['a null', null],
  ])('refuses %s model_patch as patch_rejected without starting a container', async (_what, modelPatch) => {
    const patch = predicted(STATSKIT, modelPatch);
    expect(patch.text).toBe('');
    const { result, runDir } = await runTask(task(STATSKIT), { cfg, timeouts, patch });
    expect(result.status).toBe('patch_rejected');
    expect(result.exit_code).toBe(5);
    expect(result.error).toMatch(/empty patch/);
    expect(result.stages).toEqual([]);
    expect(result.resolved).toBe(false);
    await expectNoContainerFor(runDir);
  });

  it('puts the test files a candidate patch edited back to the base commit before the test patch, as SWE-bench does', async () => {
    const t = task(STATSKIT);
    // The candidate leaves the bug alone, loosens a failing test of tests/test_rolling.py
    // and plants its own tests/test_regression.py: both files the test patch touches.
    const cheat = patchFile('statskit-edits-tests.diff');
    expect(patchFilesOf(cheat).map((f) => f.path)).toEqual(testFilesOf(t.test_patch!));
    const { result } = await runTask(t, { cfg, timeouts, patch: predicted(STATSKIT, cheat) });
    expect(stageNames(result)).toEqual(['clone', 'install', 'apply_patch', 'apply_test_patch', 'tests_after']);
    expect(result.stages.every((s) => s.status === 'ok')).toBe(true);
    expect(result.patch!.applied_with).toBe('git apply');
    // What ran is the test patch's version of both files, not the candidate's.
    const ids = Object.keys(result.after!.tests);
    expect(ids).not.toContain('tests/test_regression.py::test_window_label_planted_by_the_candidate');
    expect(ids).toContain('tests/test_regression.py::test_moving_average_rejects_float_window');
    expect(result.after!.tests['tests/test_rolling.py::test_moving_average_values']).toBe('FAILED');
    expect(result.after!.tests['tests/test_regression.py::test_moving_average_first_window']).toBe('FAILED');
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.grading!.fail_to_pass.failure).toEqual(t.fail_to_pass);
  });

  it('with --before shows the before state and still applies a candidate that edits the test files', async () => {
    const t = task(STATSKIT);
    const { result } = await runTask(t, { cfg, timeouts, patch: predicted(STATSKIT, patchFile('statskit-edits-tests.diff')), before: true });
    expect(stageNames(result)).toEqual(['clone', 'install', 'apply_test_patch', 'tests_before', 'apply_patch', 'apply_test_patch', 'tests_after']);
    expect(result.stages.every((s) => s.status === 'ok')).toBe(true);
    // Before: the test patch's tests on the base code, so the FAIL_TO_PASS ones fail.
    expect(result.before!.tests['tests/test_regression.py::test_moving_average_first_window']).toBe('FAILED');
    expect(result.resolved).toBe(false);
  });

  it('resolves the frametools instance through run-one --instances --gold, the cut id with a space graded as a success', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-instances-cli-'));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/run-one.ts', '--instances', 'tasks/instances.jsonl', '--task-id', FRAMETOOLS, '--gold', '--json', '--quiet', '--clone-timeout', '60', '--install-timeout', '120', '--test-timeout', '60', '--runs-dir', dir],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ task_id: FRAMETOOLS, status: 'passed', exit_code: 0, resolved: true });
    expect(result.grading.fail_to_pass.failure).toEqual([]);
    expect(result.grading.pass_to_pass.failure).toEqual([]);
    expect(result.grading.fail_to_pass.success).toContain('tests/test_fill.py::test_fill_group_starting_with_gap[north');
    expect(result.after.tests['tests/test_fill.py::test_fill_group_starting_with_gap[north side]']).toBe('PASSED');
    expect(result.stages.map((s: { name: string }) => s.name)).toEqual(['clone', 'install', 'apply_patch', 'apply_test_patch', 'tests_after']);
    const [runId] = fs.readdirSync(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, runId!, 'result.json'), 'utf8')).resolved).toBe(true);
  });
});
