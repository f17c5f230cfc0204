/**
 * A batch's run report in SWE-bench's shape (swebench/harness/reporting.py
 * make_run_report), written next to summary.json as SWE-bench names it:
 * `<model_name_or_path with "/" as "__">.<run_id>.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import type { Task } from '../core/types.js';
import { isInstanceTask } from '../task/instances.js';
import { loadPredictions, type Prediction } from '../task/predictions.js';
import type { PatchMode } from '../task/taskset.js';
import { runReport, type SwebenchInstanceReport, type SwebenchRunReport } from '../testing/report.js';
import { instanceReportOf, isGraded } from '../run/report-file.js';
import { readResult as readResultFile, type RunResult } from '../run/result.js';
import type { BatchSummary } from './batch.js';

/** What the run report is about: the model and its predictions by instance id ("" or null: an empty patch). */
export interface ReportPredictions {
  model: string;
  predictions: Record<string, string | null>;
}

const RUN_ID_RE = /^[A-Za-z0-9._-]+$/;

/** SWE-bench's run report file name: `<model, "/" → "__">.<run_id>.json`. */
export function runReportFileName(model: string, runId: string): string {
  return `${model.replace(/\//g, '__')}.${runId}.json`;
}

/**
 * The run id: `--run-id` when given (letters, digits, ".", "_", "-"), else the
 * runs dir's name — it plays the part of SWE-bench's
 * `logs/run_evaluation/<run_id>/`, the directory one evaluation's logs go to.
 * @throws HarnessError('usage') for a run id SWE-bench's file name cannot hold.
 */
export function runIdFor(given: string | null, runsDir: string): string {
  if (given !== null) {
    if (!RUN_ID_RE.test(given)) throw new HarnessError('usage', `--run-id may only hold letters, digits, ".", "_" and "-", got "${given}"`);
    return given;
  }
  const name = path.basename(path.resolve(runsDir)).replace(/[^A-Za-z0-9._-]/g, '_');
  return name === '' || /^\.+$/.test(name) ? 'swe-harness' : name;
}

/** SWE-bench's model name for a set of predictions: the first one's `model_name_or_path` ("None" when it has none). */
function modelOf(preds: Iterable<Prediction>): string {
  for (const p of preds) return p.model_name_or_path || 'None';
  return 'None';
}

function fromPredictions(preds: ReadonlyMap<string, Prediction>): ReportPredictions {
  return { model: modelOf(preds.values()), predictions: Object.fromEntries([...preds].map(([id, p]) => [id, p.model_patch])) };
}

/**
 * The predictions a batch over SWE-bench instances evaluates: the predictions
 * file (all of it: SWE-bench counts every submitted prediction), or the gold
 * patches of the tasks run, as model "gold" (SWE-bench's `--predictions_path
 * gold`), or — for agent batches — the preds.json the agent wrote. Null when
 * there is no report to make: a tasks file, no patch, or one `--patch` for all.
 */
export async function reportPredictions(tasks: readonly Task[], mode: PatchMode, agentPredsFile: string | null): Promise<ReportPredictions | null> {
  if (tasks.length === 0 || !tasks.every(isInstanceTask)) return null;
  if (agentPredsFile !== null) {
    if (!fs.existsSync(agentPredsFile)) return { model: 'None', predictions: {} };
    return fromPredictions(await loadPredictions(agentPredsFile));
  }
  if (mode.kind === 'predictions') return fromPredictions(mode.preds);
  if (mode.kind === 'task') {
    return { model: 'gold', predictions: Object.fromEntries(tasks.map((t) => [t.task_id, isInstanceTask(t) ? t.gold_patch ?? '' : ''])) };
  }
  return null;
}

/** A result file of the batch; null when it is gone or unreadable (SWE-bench: no report, an error). */
function readResult(file: string | null): RunResult | null {
  if (file === null) return null;
  try {
    return readResultFile(file); // either layout; the grading from report.json for the compact one
  } catch {
    return null;
  }
}

/**
 * The run report of a batch: the dataset is the tasks selected (after
 * --filter/--slice, as SWE-bench's `--instance_ids`), each one's report read
 * off its result (run now or earlier, skipped as done). A run that was not
 * graded (patch rejected or failed, timeout, error, interrupted, never
 * started) has no report, as in SWE-bench, and counts as an error.
 */
export function batchRunReport(tasks: readonly Task[], preds: ReportPredictions, summary: BatchSummary): SwebenchRunReport {
  const reports: Record<string, SwebenchInstanceReport | null> = {};
  for (const entry of summary.tasks) {
    const result = readResult(entry.result_file);
    reports[entry.task_id] = result && isGraded(result) ? instanceReportOf(result)[entry.task_id] ?? null : null;
  }
  return runReport({ dataset: tasks.map((t) => t.task_id), predictions: preds.predictions, reports });
}

/** Write the run report as SWE-bench does (`json.dumps(report, indent=4)` and a newline) into `dir`; returns its path. */
export function writeRunReport(dir: string, model: string, runId: string, report: SwebenchRunReport): string {
  const file = path.join(dir, runReportFileName(model, runId));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(report, null, 4)}\n`);
  fs.renameSync(tmp, file);
  return file;
}
