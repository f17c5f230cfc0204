/**
 * SWE-bench's report files, built from the harness's gradings: the per-instance
 * `report.json` (swebench/harness/grading.py `get_eval_report`) and the run
 * report (swebench/harness/reporting.py `make_run_report`, schema_version 2).
 */
import { HarnessError } from '../core/errors.js';
import type { Grading } from './grading.js';

export interface SwebenchTestBucket {
  success: string[];
  failure: string[];
}

export interface SwebenchTestsStatus {
  FAIL_TO_PASS: SwebenchTestBucket;
  PASS_TO_PASS: SwebenchTestBucket;
  FAIL_TO_FAIL: SwebenchTestBucket;
  PASS_TO_FAIL: SwebenchTestBucket;
}

/** The value under the instance id in a report.json. */
export interface SwebenchInstanceReport {
  patch_is_None: boolean;
  patch_exists: boolean;
  patch_successfully_applied: boolean;
  resolved: boolean;
  /** Present once the tests ran and were graded. */
  tests_status?: SwebenchTestsStatus;
}

export interface InstanceOutcome {
  /** The candidate patch; null when the prediction had none (SWE-bench's `model_patch: null`). */
  patch: string | null;
  /**
   * The patch applied and the tests ran to the end (SWE-bench: no apply / reset
   * failure, no test error or timeout, and both test-output markers in the log).
   */
  tests_ran: boolean;
  /** The grading of that run; required when `tests_ran`. */
  grading: Grading | null;
}

/**
 * One instance's report.json, `{ <instance_id>: {...} }`, as SWE-bench's
 * get_eval_report writes it with tests' statuses included: a null patch stops
 * at `patch_is_None`; a run whose tests did not run stops at
 * `patch_exists`; otherwise `tests_status` holds the grading, with
 * FAIL_TO_FAIL and PASS_TO_FAIL empty (SWE-bench does not compute them for
 * evaluation), and `resolved` is the grading's verdict.
 */
export function instanceReport(instanceId: string, outcome: InstanceOutcome): Record<string, SwebenchInstanceReport> {
  if (instanceId === '') throw new HarnessError('internal', 'instanceReport: empty instance id');
  const r: SwebenchInstanceReport = { patch_is_None: false, patch_exists: false, patch_successfully_applied: false, resolved: false };
  const out = { [instanceId]: r };
  if (outcome.patch === null) {
    r.patch_is_None = true;
    return out;
  }
  r.patch_exists = true;
  if (!outcome.tests_ran) return out;
  if (!outcome.grading) throw new HarnessError('internal', `instanceReport: ${instanceId} ran its tests but has no grading`);
  const g = outcome.grading;
  r.patch_successfully_applied = true;
  r.tests_status = {
    FAIL_TO_PASS: { success: [...g.fail_to_pass.success], failure: [...g.fail_to_pass.failure] },
    PASS_TO_PASS: { success: [...g.pass_to_pass.success], failure: [...g.pass_to_pass.failure] },
    FAIL_TO_FAIL: { success: [], failure: [] },
    PASS_TO_FAIL: { success: [], failure: [] },
  };
  r.resolved = g.resolved;
  return out;
}

/** SWE-bench's run report, keys in its order. */
export interface SwebenchRunReport {
  total_instances: number;
  submitted_instances: number;
  completed_instances: number;
  resolved_instances: number;
  unresolved_instances: number;
  empty_patch_instances: number;
  error_instances: number;
  completed_ids: string[];
  incomplete_ids: string[];
  empty_patch_ids: string[];
  submitted_ids: string[];
  resolved_ids: string[];
  unresolved_ids: string[];
  error_ids: string[];
  schema_version: 2;
}

export interface RunReportInput {
  /** Instance ids of the whole dataset evaluated against, in its order. */
  dataset: readonly string[];
  /** Predictions by instance id: the model patch (`""` or null: an empty patch). */
  predictions: Readonly<Record<string, string | null>>;
  /**
   * Each run instance's report.json value (what `instanceReport` returns under
   * its id); a missing or null entry is an instance whose evaluation produced no
   * report (SWE-bench counts it as an error).
   */
  reports: Readonly<Record<string, SwebenchInstanceReport | null | undefined>>;
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const sorted = (ids: Iterable<string>): string[] => [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The run report as make_run_report builds it: per dataset instance, no
 * prediction → incomplete; an empty or null patch → empty patch (not run, not
 * an error); a report → completed, then resolved or unresolved; no report →
 * error. `submitted_instances` counts every prediction, also those for ids
 * outside the dataset, as SWE-bench does. Id lists are sorted.
 */
export function runReport(input: RunReportInput): SwebenchRunReport {
  const completed = new Set<string>();
  const resolved = new Set<string>();
  const unresolved = new Set<string>();
  const errors = new Set<string>();
  const incomplete = new Set<string>();
  const empty = new Set<string>();
  for (const id of input.dataset) {
    if (!has(input.predictions, id)) {
      incomplete.add(id);
      continue;
    }
    const patch = input.predictions[id];
    if (patch === '' || patch === null || patch === undefined) {
      empty.add(id);
      continue;
    }
    const report = has(input.reports, id) ? input.reports[id] : undefined;
    if (!report) {
      errors.add(id);
      continue;
    }
    completed.add(id);
    (report.resolved ? resolved : unresolved).add(id);
  }
  const submitted = Object.keys(input.predictions);
  return {
    total_instances: input.dataset.length,
    submitted_instances: submitted.length,
    completed_instances: completed.size,
    resolved_instances: resolved.size,
    unresolved_instances: unresolved.size,
    empty_patch_instances: empty.size,
    error_instances: errors.size,
    completed_ids: sorted(completed),
    incomplete_ids: sorted(incomplete),
    empty_patch_ids: sorted(empty),
    submitted_ids: sorted(submitted),
    resolved_ids: sorted(resolved),
    unresolved_ids: sorted(unresolved),
    error_ids: sorted(errors),
    schema_version: 2,
  };
}
