/** An instance run's SWE-bench report.json, read off its result; and the empty prediction, recorded without running. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import type { Task } from '../../scripts/lib/core/types.js';
import { blankResult, recordEmptyPrediction, RunRecorder } from '../../scripts/lib/run/outcome.js';
import { instanceReportOf, isGraded } from '../../scripts/lib/run/report-file.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { parsePredictions } from '../../scripts/lib/task/predictions.js';
import { makeTask } from '../../scripts/lib/task/tasks.js';
import { loadTaskSet, patchFor } from '../../scripts/lib/task/taskset.js';
import type { Grading } from '../../scripts/lib/testing/grading.js';

const ID = 'swe-harness__statskit-1';
let inst: InstanceTask;
beforeAll(async () => {
  inst = (await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') })).filter(isInstanceTask).find((t) => t.task_id === ID)!;
});

const tmpCfg = (): HarnessConfig => ({ ...DEFAULT_CONFIG, runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-report-')) });
const PATCH = { source: 'p.jsonl#x', sha256: 'ab', bytes: 10, files: ['a.py'], applied_with: 'git apply' };
const GRADING: Grading = { resolved: false, fail_to_pass: { success: ['t1'], failure: ['t2'] }, pass_to_pass: { success: ['t3'], failure: [] } };
const result = (over: Partial<RunResult>): RunResult => ({ ...blankResult(inst), ...over });
const EMPTY_BUCKET = { success: [], failure: [] };

describe('instanceReportOf (report.json of an instance run)', () => {
  it('writes a graded run as get_eval_report does, tests_status with all four buckets', () => {
    const r = result({ status: 'failed', patch: PATCH, grading: GRADING, resolved: false });
    expect(isGraded(r)).toBe(true);
    expect(instanceReportOf(r)).toEqual({
      [ID]: {
        patch_is_None: false,
        patch_exists: true,
        patch_successfully_applied: true,
        resolved: false,
        tests_status: {
          FAIL_TO_PASS: { success: ['t1'], failure: ['t2'] },
          PASS_TO_PASS: { success: ['t3'], failure: [] },
          FAIL_TO_FAIL: EMPTY_BUCKET,
          PASS_TO_FAIL: EMPTY_BUCKET,
        },
      },
    });
    expect(instanceReportOf(result({ status: 'passed', patch: PATCH, grading: { ...GRADING, resolved: true } }))[ID]!.resolved).toBe(true);
  });

  it.each<[string, Partial<RunResult>]>([
    ['patch_failed', { status: 'patch_failed', patch: { ...PATCH, applied_with: null } }],
    ['patch_rejected', { status: 'patch_rejected', patch: { ...PATCH, applied_with: null } }],
    ['a timeout', { status: 'timeout', timeout_stage: 'tests_after', patch: PATCH }],
    ['an error (tests gave no verdict)', { status: 'error', patch: PATCH }],
    ['interrupted', { status: 'interrupted', patch: PATCH }],
  ])('stops at patch_exists for %s: not applied, not resolved, no tests_status', (_what, over) => {
    const r = result(over);
    expect(isGraded(r)).toBe(false);
    expect(instanceReportOf(r)).toEqual({ [ID]: { patch_is_None: false, patch_exists: true, patch_successfully_applied: false, resolved: false } });
  });

  it.each<[string, Partial<RunResult>]>([
    ['no patch at all (tests only), even graded', { status: 'failed', patch: null, grading: GRADING }],
    ['an empty patch (0 bytes)', { status: 'failed', patch: { ...PATCH, bytes: 0, files: [], applied_with: null } }],
  ])('is patch_is_None for %s, as get_eval_report for model_patch None', (_what, over) => {
    expect(instanceReportOf(result(over))).toEqual({ [ID]: { patch_is_None: true, patch_exists: false, patch_successfully_applied: false, resolved: false } });
  });
});

describe('RunRecorder.finish', () => {
  it('writes report.json next to result.json for an instance, none for a plain task', () => {
    const cfg = tmpCfg();
    const instDir = path.join(cfg.runsDir, 'inst');
    const rec = new RunRecorder(inst, { runDir: instDir }, { status: 'patch_failed', patch: PATCH });
    rec.finish();
    expect(JSON.parse(fs.readFileSync(path.join(instDir, 'report.json'), 'utf8'))).toEqual({
      [ID]: { patch_is_None: false, patch_exists: true, patch_successfully_applied: false, resolved: false },
    });
    const plain: Task = makeTask({ task_id: 'plain', repo: 'fixture:statskit', ref: 'abc' });
    const plainDir = path.join(cfg.runsDir, 'plain');
    new RunRecorder(plain, { runDir: plainDir }, { status: 'passed' }).finish();
    expect(fs.existsSync(path.join(plainDir, 'result.json'))).toBe(true);
    expect(fs.existsSync(path.join(plainDir, 'report.json'))).toBe(false);
  });
});

describe('an empty prediction', () => {
  const predsText = [
    JSON.stringify({ instance_id: ID, model_name_or_path: 'm', model_patch: '' }),
    JSON.stringify({ instance_id: 'other__x-1', model_name_or_path: 'm', model_patch: null }),
    JSON.stringify({ instance_id: 'third__x-1', model_name_or_path: 'm', model_patch: 'diff --git a/x b/x' }),
  ].join('\n');
  const mode = () => ({ kind: 'predictions' as const, file: 'p.jsonl', preds: parsePredictions(predsText, 'p.jsonl') });

  it('is chosen as SWE-bench\'s empty patch, for "" and null alike; a real patch is not marked', () => {
    expect(patchFor(inst, mode())).toEqual({ text: '', source: `p.jsonl#${ID}`, empty_prediction: true });
    expect(patchFor({ ...inst, task_id: 'other__x-1' }, mode())).toEqual({ text: '', source: 'p.jsonl#other__x-1', empty_prediction: true });
    expect(patchFor({ ...inst, task_id: 'third__x-1' }, mode())).toEqual({ text: 'diff --git a/x b/x', source: 'p.jsonl#third__x-1' });
  });

  it('is recorded without running: failed, not resolved, exit 1, no stages, report.json with patch_is_None', () => {
    const cfg = tmpCfg();
    const { result: r, runDir, resultFile } = recordEmptyPrediction(inst, cfg, patchFor(inst, mode())!, 'key-1');
    expect(path.dirname(resultFile)).toBe(runDir);
    const written = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as RunResult;
    expect(written).toEqual(JSON.parse(JSON.stringify(r)));
    expect(written).toMatchObject({ status: 'failed', exit_code: 1, resolved: false, stages: [], before: null, after: null, cache_key: 'key-1' });
    expect(written.error).toBe(`empty patch: the prediction (p.jsonl#${ID}) has no model_patch; not run, as SWE-bench (its run report counts it in empty_patch_ids)`);
    expect(written.patch).toEqual({ source: `p.jsonl#${ID}`, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', bytes: 0, files: [], applied_with: null });
    expect(Object.keys(written).slice(0, 16)).toEqual([
      'task_id', 'repo', 'ref', 'pytest_k', 'status', 'duration_s', 'tail', 'exit_code', 'timeout_stage', 'error', 'head', 'image', 'patch', 'stages', 'before', 'after',
    ]);
    expect(fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8')).toBe('');
    // SWE-bench's own layout: json.dumps(report, indent=4).
    expect(fs.readFileSync(path.join(runDir, 'report.json'), 'utf8')).toBe(
      `{\n    "${ID}": {\n        "patch_is_None": true,\n        "patch_exists": false,\n        "patch_successfully_applied": false,\n        "resolved": false\n    }\n}`,
    );
  });
});
