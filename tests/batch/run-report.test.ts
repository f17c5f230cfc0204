/** A batch's run report in SWE-bench's shape: its name, its run id, its predictions, and the ids read off the results. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchEntry, BatchSummary } from '../../scripts/lib/batch/batch.js';
import { batchRunReport, reportPredictions, runIdFor, runReportFileName, writeRunReport } from '../../scripts/lib/batch/run-report.js';
import type { Task } from '../../scripts/lib/core/types.js';
import { blankResult } from '../../scripts/lib/run/outcome.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import type { InstanceTask } from '../../scripts/lib/task/instances.js';
import { parsePredictions } from '../../scripts/lib/task/predictions.js';
import { makeTask } from '../../scripts/lib/task/tasks.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-runreport-'));

function inst(id: string, gold: string | null = 'diff --git a/g b/g'): InstanceTask {
  return { ...makeTask({ task_id: id, repo: 'owner/name', ref: 'abc' }), test_patch: null, fail_to_pass: ['t1'], pass_to_pass: [], gold_patch: gold, env: {}, test_cmd: null, instance_repo: 'owner/name', log_parser: null };
}

describe('the run report file name and run id', () => {
  it('is SWE-bench\'s <model with "/" as "__">.<run_id>.json', () => {
    expect(runReportFileName('openai/gpt-4o', 'lite-1')).toBe('openai__gpt-4o.lite-1.json');
    expect(runReportFileName('gold', 'runs')).toBe('gold.runs.json');
  });

  it('takes --run-id, else the runs dir\'s name', () => {
    expect(runIdFor('eval.v2_a-b', '/x/y')).toBe('eval.v2_a-b');
    expect(runIdFor(null, '/tmp/evals/lite-qwen')).toBe('lite-qwen');
    expect(runIdFor(null, '/tmp/evals/lite-qwen/')).toBe('lite-qwen');
    expect(runIdFor(null, '/tmp/my runs')).toBe('my_runs');
    expect(runIdFor(null, '/')).toBe('swe-harness');
  });

  it.each(['', 'a/b', 'a b', '../x'])('refuses --run-id %j as bad input', (id) => {
    expect(() => runIdFor(id, '/x')).toThrow(/--run-id may only hold/);
  });
});

describe('reportPredictions', () => {
  const tasks = [inst('a__a-1'), inst('b__b-1', null)];
  const preds = parsePredictions(
    [
      JSON.stringify({ instance_id: 'b__b-1', model_name_or_path: 'org/model', model_patch: 'diff b' }),
      JSON.stringify({ instance_id: 'a__a-1', model_name_or_path: 'other', model_patch: null }),
      JSON.stringify({ instance_id: 'z__z-1', model_name_or_path: 'other', model_patch: 'diff z' }),
    ].join('\n'),
    'p.jsonl',
  );

  it('takes every prediction of the file, the model of the first one', async () => {
    expect(await reportPredictions(tasks, { kind: 'predictions', file: 'p.jsonl', preds }, null)).toEqual({
      model: 'org/model',
      predictions: { 'b__b-1': 'diff b', 'a__a-1': '', 'z__z-1': 'diff z' },
    });
  });

  it('is "gold" with each task\'s gold patch for --gold (none: an empty patch)', async () => {
    expect(await reportPredictions(tasks, { kind: 'task' }, null)).toEqual({ model: 'gold', predictions: { 'a__a-1': 'diff --git a/g b/g', 'b__b-1': '' } });
  });

  it('reads the agent\'s preds.json for agent batches (no file yet: no predictions)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'preds.json');
    expect(await reportPredictions(tasks, { kind: 'none' }, file)).toEqual({ model: 'None', predictions: {} });
    fs.writeFileSync(file, JSON.stringify({ 'a__a-1': { model_name_or_path: 'qwen/q', instance_id: 'a__a-1', model_patch: '' } }));
    expect(await reportPredictions(tasks, { kind: 'none' }, file)).toEqual({ model: 'qwen/q', predictions: { 'a__a-1': '' } });
  });

  it('is null without predictions (no patch, one --patch for all) or for a tasks file', async () => {
    expect(await reportPredictions(tasks, { kind: 'none' }, null)).toBeNull();
    expect(await reportPredictions(tasks, { kind: 'file', patch: { text: 'd', source: 'f' } }, null)).toBeNull();
    const plain: Task = makeTask({ task_id: 'plain', repo: 'fixture:statskit', ref: 'abc' });
    expect(await reportPredictions([plain], { kind: 'predictions', file: 'p.jsonl', preds }, null)).toBeNull();
  });
});

describe('batchRunReport', () => {
  it('reads each task\'s result: graded → completed (resolved or not), anything else or no result → error', () => {
    const dir = tmp();
    const ids = ['res__r-1', 'unr__u-1', 'fail__f-1', 'time__t-1', 'empty__e-1', 'gone__g-1', 'none__n-1', 'never__v-1'];
    const tasks = ids.map((id) => inst(id));
    const patch = { source: 'p', sha256: 'ab', bytes: 3, files: ['x'], applied_with: 'git apply' };
    const grading = (resolved: boolean) => ({ resolved, fail_to_pass: { success: resolved ? ['t1'] : [], failure: resolved ? [] : ['t1'] }, pass_to_pass: { success: [], failure: [] } });
    const results: Record<string, Partial<RunResult> | null> = {
      'res__r-1': { status: 'passed', patch, grading: grading(true), resolved: true },
      'unr__u-1': { status: 'failed', patch, grading: grading(false), resolved: false },
      'fail__f-1': { status: 'patch_failed', patch: { ...patch, applied_with: null }, resolved: false },
      'time__t-1': { status: 'timeout', patch, resolved: false },
      'empty__e-1': { status: 'failed', patch: { ...patch, bytes: 0 }, resolved: false },
      'gone__g-1': null, // its result file was removed
    };
    const entries: BatchEntry[] = Object.entries(results).map(([id, over]) => {
      const file = path.join(dir, id, 'result.json');
      if (over) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ ...blankResult(inst(id)), ...over }));
      }
      return { task_id: id, status: over?.status ?? 'error', resolved: over?.resolved ?? false, duration_s: 1, skipped: false, result_file: file };
    });
    const summary = { tasks: entries } as BatchSummary;
    const predictions: Record<string, string | null> = Object.fromEntries(ids.filter((id) => id !== 'none__n-1').map((id) => [id, id === 'empty__e-1' ? '' : 'diff']));
    const report = batchRunReport(tasks, { model: 'm', predictions }, summary);
    expect(report).toEqual({
      total_instances: 8,
      submitted_instances: 7,
      completed_instances: 2,
      resolved_instances: 1,
      unresolved_instances: 1,
      empty_patch_instances: 1,
      error_instances: 4,
      completed_ids: ['res__r-1', 'unr__u-1'],
      incomplete_ids: ['none__n-1'],
      empty_patch_ids: ['empty__e-1'],
      submitted_ids: ['empty__e-1', 'fail__f-1', 'gone__g-1', 'never__v-1', 'res__r-1', 'time__t-1', 'unr__u-1'],
      resolved_ids: ['res__r-1'],
      unresolved_ids: ['unr__u-1'],
      error_ids: ['fail__f-1', 'gone__g-1', 'never__v-1', 'time__t-1'],
      schema_version: 2,
    });
    const file = writeRunReport(dir, 'org/m', 'r1', report);
    expect(path.basename(file)).toBe('org__m.r1.json');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe(`${JSON.stringify(report, null, 4)}\n`);
    expect(text.startsWith('{\n    "total_instances": 8,\n')).toBe(true);
  });
});
