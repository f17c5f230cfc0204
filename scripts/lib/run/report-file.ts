/**
 * An instance run's `report.json`, SWE-bench's per-instance report
 * (swebench/harness/grading.py get_eval_report, tests' statuses included),
 * read off the run's result.
 */
import fs from 'node:fs';
import path from 'node:path';
import { instanceReport, type SwebenchInstanceReport } from '../testing/report.js';
import type { RunResult } from './result.js';

export const REPORT_FILE = 'report.json';

/**
 * The report of one instance run, `{ <instance_id>: {...} }`: no candidate
 * patch (none given, an empty prediction, an agent that changed nothing) is
 * SWE-bench's `patch_is_None` and stops there, as get_eval_report does for
 * `model_patch: None`; a run that was graded (the patch applied, the tests ran
 * and were read) has `patch_successfully_applied` and `tests_status`; any
 * other end (patch rejected or failed, timeout, error, Ctrl-C) stops at
 * `patch_exists`, resolved false.
 */
export function instanceReportOf(result: RunResult): Record<string, SwebenchInstanceReport> {
  const patch = result.patch && result.patch.bytes > 0 ? result.patch.sha256 : null;
  const grading = result.grading ?? null;
  return instanceReport(result.task_id, { patch, tests_ran: grading !== null, grading });
}

/** Whether SWE-bench would have a report for this run: the tests ran and were graded (else its run report says error). */
export function isGraded(result: RunResult): boolean {
  return result.grading !== undefined && result.grading !== null;
}

/** Write `report.json` into the run directory, as SWE-bench writes it (`json.dumps(report, indent=4)`), atomically. */
export function writeInstanceReport(runDir: string, result: RunResult): string {
  const file = path.join(runDir, REPORT_FILE);
  fs.mkdirSync(runDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(instanceReportOf(result), null, 4));
  fs.renameSync(tmp, file);
  return file;
}
