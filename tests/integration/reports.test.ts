/**
 * SWE-bench's report formats on the real engine: report.json next to each
 * instance run's result.json (graded, not applied, rejected, empty), none for
 * plain tasks, and run-many's run report `<model>.<run_id>.json` next to
 * summary.json, read off the shipped instances and the predictions in
 * tests/fixtures/preds/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../scripts/lib/batch/batch.js';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import type { PatchInput } from '../../scripts/lib/core/types.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTasks } from '../../scripts/lib/task/tasks.js';
import { loadTaskSet } from '../../scripts/lib/task/taskset.js';
import type { SwebenchInstanceReport, SwebenchRunReport } from '../../scripts/lib/testing/report.js';

const STATSKIT = 'swe-harness__statskit-1';
const FRAMETOOLS = 'swe-harness__frametools-1';
const PREDS = 'tests/fixtures/preds';
const PATCHES = path.join(ROOT, PREDS, 'patches');
const INSTANCES = ['--instances', 'tasks/instances.jsonl'];
/** Stage limits with room for a loaded 2-core machine (the defaults are tuned for speed). */
const LIMITS = ['--clone-timeout', '60', '--install-timeout', '120', '--test-timeout', '60'];
const timeouts = { clone: 60, install: 120, test: 60 };
const EMPTY = { success: [], failure: [] };
const NOT_APPLIED = { patch_is_None: false, patch_exists: true, patch_successfully_applied: false, resolved: false };
const NO_PATCH = { patch_is_None: true, patch_exists: false, patch_successfully_applied: false, resolved: false };

const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `swe-harness-reports-${tag}-`));
let tasks: InstanceTask[];
const task = (id: string) => tasks.find((t) => t.task_id === id)!;

beforeAll(async () => {
  tasks = (await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') })).filter(isInstanceTask);
});

function reportIn(runDir: string): Record<string, SwebenchInstanceReport> {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'report.json'), 'utf8')) as Record<string, SwebenchInstanceReport>;
}

/** The report.json of a resolved run: every FAIL_TO_PASS and PASS_TO_PASS id a success, in the instance's order. */
function resolvedReport(t: InstanceTask) {
  return {
    [t.task_id]: {
      patch_is_None: false,
      patch_exists: true,
      patch_successfully_applied: true,
      resolved: true,
      tests_status: {
        FAIL_TO_PASS: { success: t.fail_to_pass, failure: [] },
        PASS_TO_PASS: { success: t.pass_to_pass, failure: [] },
        FAIL_TO_FAIL: EMPTY,
        PASS_TO_FAIL: EMPTY,
      },
    },
  };
}

describe('report.json of instance runs (runTask)', () => {
  const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir: tmpDir('runtask') };
  const patch = (name: string): PatchInput => ({ text: fs.readFileSync(path.join(PATCHES, name), 'utf8'), source: name });

  it('writes the graded run of the gold patch: resolved, every id a success, keys in SWE-bench\'s order', async () => {
    const t = task(STATSKIT);
    const { result, runDir } = await runTask(t, { cfg, timeouts, patch: { text: t.gold_patch!, source: 'gold' } });
    expect(result.status).toBe('passed');
    const report = reportIn(runDir);
    expect(report).toEqual(resolvedReport(t));
    expect(Object.keys(report[STATSKIT]!)).toEqual(['patch_is_None', 'patch_exists', 'patch_successfully_applied', 'resolved', 'tests_status']);
    // The grading in result.json and the report say the same.
    expect(report[STATSKIT]!.tests_status!.FAIL_TO_PASS).toEqual(result.grading!.fail_to_pass);
  });

  it('writes an unresolved run with the PASS_TO_PASS id the patch breaks as its failure', async () => {
    const t = task(STATSKIT);
    const broken = 'tests/test_rolling.py::test_moving_average_rejects_bad_window[6]';
    const { result, runDir } = await runTask(t, { cfg, timeouts, patch: patch('statskit-breaks-p2p.diff') });
    expect(result.status).toBe('failed');
    expect(reportIn(runDir)).toEqual({
      [STATSKIT]: {
        patch_is_None: false,
        patch_exists: true,
        patch_successfully_applied: true,
        resolved: false,
        tests_status: {
          FAIL_TO_PASS: { success: t.fail_to_pass, failure: [] },
          PASS_TO_PASS: { success: t.pass_to_pass.filter((id) => id !== broken), failure: [broken] },
          FAIL_TO_FAIL: EMPTY,
          PASS_TO_FAIL: EMPTY,
        },
      },
    });
  });

  it('writes a patch that does not apply (patch_failed) as not applied, without tests_status', async () => {
    const { result, runDir } = await runTask(task(STATSKIT), { cfg, timeouts, patch: patch('statskit-does-not-apply.diff') });
    expect(result.status).toBe('patch_failed');
    expect(reportIn(runDir)).toEqual({ [STATSKIT]: NOT_APPLIED });
  });

  it('writes a patch the guardrails refuse (patch_rejected) as not applied, with no container started', async () => {
    const bad = '--- a/../outside.py\n+++ b/../outside.py\n@@ -1 +1 @@\n-a\n+b\n';
    const { result, runDir } = await runTask(task(FRAMETOOLS), { cfg, timeouts, patch: { text: bad, source: 'bad.diff' } });
    expect(result.status).toBe('patch_rejected');
    expect(result.stages).toEqual([]);
    expect(reportIn(runDir)).toEqual({ [FRAMETOOLS]: NOT_APPLIED });
    expect(await listHarnessContainers(path.basename(runDir))).toEqual([]);
  });

  it('writes a run with no candidate patch as patch_is_None, as get_eval_report for model_patch None', async () => {
    const { result, runDir } = await runTask(task(FRAMETOOLS), { cfg, timeouts });
    expect(result.status).toBe('failed');
    expect(result.grading).toBeDefined();
    expect(reportIn(runDir)).toEqual({ [FRAMETOOLS]: NO_PATCH });
  });

  it('writes none for a plain task', async () => {
    const demo = (await loadTasks(path.join(ROOT, 'seed_tasks.jsonl'))).find((t) => t.task_id === 'demo-statskit')!;
    const { result, runDir } = await runTask(demo, { cfg, timeouts });
    expect(result.status).toBe('failed');
    expect(fs.existsSync(path.join(runDir, 'result.json'))).toBe(true);
    expect(fs.existsSync(path.join(runDir, 'report.json'))).toBe(false);
  });
});

function cli(script: 'run-one' | 'run-many', args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const runDirsIn = (runsDir: string) =>
  fs.readdirSync(runsDir).filter((d) => fs.existsSync(path.join(runsDir, d, 'result.json'))).map((d) => path.join(runsDir, d));
const resultOf = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')) as RunResult;
const runReportIn = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as SwebenchRunReport;
const runReportLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('run report: '));

describe('an empty prediction (run-one)', () => {
  it('is SWE-bench\'s empty patch, not a rejected patch: not run, failed, report.json patch_is_None', () => {
    const runsDir = tmpDir('one');
    const r = cli('run-one', [...INSTANCES, '--task-id', FRAMETOOLS, '--predictions', `${PREDS}/preds-empty.jsonl`, '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`— empty patch: the prediction (${PREDS}/preds-empty.jsonl#${FRAMETOOLS}) has no model_patch; not run, as SWE-bench`);
    expect(r.stderr).toMatch(/^failed in \d+\.\d\ds — empty patch: /m);
    const [runDir] = runDirsIn(runsDir);
    const result = resultOf(runDir!);
    expect(result).toMatchObject({ status: 'failed', exit_code: 1, resolved: false, stages: [], image: null, patch: { bytes: 0, files: [] } });
    expect(reportIn(runDir!)).toEqual({ [FRAMETOOLS]: NO_PATCH });
  });
});

describe('run-many\'s run report', () => {
  // One runs dir for the first batches: the second reuses the first's results.
  const runsDir = tmpDir('many');
  const runId = path.basename(runsDir);

  it('counts an empty prediction as an empty patch and names the report <model>.<runs dir name>.json in its output', () => {
    const r = cli('run-many', [...INSTANCES, '--predictions', `${PREDS}/preds-empty.jsonl`, '--workers', '2', ...LIMITS, '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(1);
    const file = path.join(runsDir, `swe-harness__fixtures.${runId}.json`);
    expect(runReportLine(r.stderr)).toBe(
      `run report: ${path.relative(ROOT, file)} (SWE-bench's: resolved 1/2, unresolved 0, empty patch 1, errors 0, incomplete 0)`,
    );
    expect(runReportIn(file)).toEqual({
      total_instances: 2,
      submitted_instances: 2,
      completed_instances: 1,
      resolved_instances: 1,
      unresolved_instances: 0,
      empty_patch_instances: 1,
      error_instances: 0,
      completed_ids: [STATSKIT],
      incomplete_ids: [],
      empty_patch_ids: [FRAMETOOLS],
      submitted_ids: [FRAMETOOLS, STATSKIT],
      resolved_ids: [STATSKIT],
      unresolved_ids: [],
      error_ids: [],
      schema_version: 2,
    });
    // SWE-bench's layout: json.dumps(report, indent=4).
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\{\n {4}"total_instances": 2,\n/);
    // Next to summary.json, whose entries still say what each run was.
    const summary = JSON.parse(fs.readFileSync(path.join(runsDir, 'summary.json'), 'utf8')) as BatchSummary;
    expect(summary.tasks.map((t) => [t.task_id, t.status, t.resolved]).sort()).toEqual([
      [FRAMETOOLS, 'failed', false],
      [STATSKIT, 'passed', true],
    ]);
    // Each instance run has its report.json; the empty one never started a container.
    const reports = Object.assign({}, ...runDirsIn(runsDir).map(reportIn));
    expect(reports).toEqual({ ...resolvedReport(task(STATSKIT)), [FRAMETOOLS]: NO_PATCH });
    const empty = runDirsIn(runsDir).map(resultOf).find((x) => x.task_id === FRAMETOOLS)!;
    expect(empty.stages).toEqual([]);
    expect(empty.error).toMatch(/^empty patch: /);
  });

  it('reads results skipped as done, counts only the submitted predictions, and takes --run-id', () => {
    const r = cli('run-many', [...INSTANCES, '--predictions', `${PREDS}/preds-one.jsonl`, ...LIMITS, '--runs-dir', runsDir, '--run-id', 'only-one']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(runsDir, 'summary.json'), 'utf8')) as BatchSummary;
    expect(summary.tasks.map((t) => [t.task_id, t.skipped])).toEqual([[STATSKIT, true]]);
    expect(runReportIn(path.join(runsDir, 'swe-harness__fixtures.only-one.json'))).toEqual({
      total_instances: 2,
      submitted_instances: 1,
      completed_instances: 1,
      resolved_instances: 1,
      unresolved_instances: 0,
      empty_patch_instances: 0,
      error_instances: 0,
      completed_ids: [STATSKIT],
      incomplete_ids: [FRAMETOOLS],
      empty_patch_ids: [],
      submitted_ids: [STATSKIT],
      resolved_ids: [STATSKIT],
      unresolved_ids: [],
      error_ids: [],
      schema_version: 2,
    });
  });

  it('names the gold run "gold", over the instances --filter keeps', () => {
    const r = cli('run-many', [...INSTANCES, '--gold', '--filter', 'statskit', ...LIMITS, '--runs-dir', runsDir, '--run-id', 'validate']);
    expect(r.code, r.stderr).toBe(0);
    const report = runReportIn(path.join(runsDir, 'gold.validate.json'));
    expect(report).toMatchObject({ total_instances: 1, submitted_instances: 1, completed_ids: [STATSKIT], resolved_ids: [STATSKIT], error_ids: [], incomplete_ids: [] });
  });

  it('counts a patch that does not apply as an error and a wrong patch as unresolved', () => {
    const dir = tmpDir('errors');
    const r = cli('run-many', [...INSTANCES, '--predictions', `${PREDS}/preds-error.jsonl`, '--workers', '2', ...LIMITS, '--runs-dir', dir, '--run-id', 'e1']);
    expect(r.code, r.stderr).toBe(1);
    expect(runReportIn(path.join(dir, 'swe-harness__fixtures.e1.json'))).toEqual({
      total_instances: 2,
      submitted_instances: 2,
      completed_instances: 1,
      resolved_instances: 0,
      unresolved_instances: 1,
      empty_patch_instances: 0,
      error_instances: 1,
      completed_ids: [FRAMETOOLS],
      incomplete_ids: [],
      empty_patch_ids: [],
      submitted_ids: [FRAMETOOLS, STATSKIT],
      resolved_ids: [],
      unresolved_ids: [FRAMETOOLS],
      error_ids: [STATSKIT],
      schema_version: 2,
    });
    // The instance that errored still has its report.json, as get_eval_report writes a patch that did not apply.
    const failed = runDirsIn(dir).find((d) => resultOf(d).task_id === STATSKIT)!;
    expect(resultOf(failed).status).toBe('patch_failed');
    expect(reportIn(failed)).toEqual({ [STATSKIT]: NOT_APPLIED });
  });

  it('refuses a --run-id SWE-bench\'s file name cannot hold before running anything', () => {
    const dir = tmpDir('badid');
    const r = cli('run-many', [...INSTANCES, '--gold', '--runs-dir', dir, '--run-id', 'a/b']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: --run-id may only hold letters, digits, ".", "_" and "-", got "a/b"');
    expect(runDirsIn(dir)).toEqual([]);
  });

  it('writes no run report for a tasks file', () => {
    const dir = tmpDir('tasks');
    const r = cli('run-many', ['--tasks', 'seed_tasks.jsonl', '--filter', '^statskit-passing$', ...LIMITS, '--runs-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(runReportLine(r.stderr)).toBeUndefined();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(['summary.json']);
  });
});
