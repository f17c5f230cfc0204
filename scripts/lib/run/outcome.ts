/**
 * How a run's outcome reads, in one place for plain runs and agent runs:
 * which stage results stop a run and what status they give, what decides
 * passed/failed (pytest's verdict, or SWE-bench's grading for instances),
 * and the final write of result.json (also on errors and Ctrl-C), with an
 * instance's SWE-bench report.json next to it (written first: it holds the
 * grading that the compact result.json leaves out).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig } from '../core/config.js';
import { EXIT_CODES, HarnessError, errorMessage } from '../core/errors.js';
import type { PatchInput, Task, TestSummary } from '../core/types.js';
import { durationS, sha256 } from '../core/values.js';
import { defaultEngine } from '../engine/docker.js';
import { isInstanceTask, type InstanceTask } from '../task/instances.js';
import { LOG_PARSERS, gradeWithParser, type LogParser } from '../testing/parsers/index.js';
import { countsLine } from '../testing/runner.js';
import { newRunId } from './keys.js';
import { writeInstanceReport } from './report-file.js';
import { writeResult, type RunResult } from './result.js';
import type { StageRun, TestRun } from './stages.js';

export interface RunOutcome {
  result: RunResult;
  runDir: string;
  resultFile: string;
}

/** A result for a task before anything has run: status "error" until a stage says otherwise. */
export function blankResult(task: Task): RunResult {
  return {
    task_id: task.task_id,
    repo: task.repo,
    ref: task.ref,
    pytest_k: task.pytest_k,
    status: 'error',
    duration_s: 0,
    tail: '',
    exit_code: EXIT_CODES.error,
    timeout_stage: null,
    error: null,
    head: null,
    image: null,
    patch: null,
    stages: [],
    before: null,
    after: null,
  };
}

/**
 * Bad input found once the task is known: the run never starts, its result
 * file is still written (with `cacheKey`, when the caller can key it, so a
 * batch does not retry the same bad input).
 */
export function recordBadInput(task: Task, cfg: HarnessConfig, err: HarnessError, cacheKey?: string): RunOutcome {
  const runDir = path.join(cfg.runsDir, newRunId(task.task_id));
  const result: RunResult = { ...blankResult(task), error: err.message, exit_code: err.exitCode, ...(cacheKey ? { cache_key: cacheKey } : {}) };
  return { result, runDir, resultFile: writeResult(runDir, result) };
}

/**
 * SWE-bench's "empty patch" (a prediction whose model_patch is "" or null):
 * as SWE-bench, nothing runs and no container starts. The result is `failed`
 * (not resolved, exit 1) with an error saying why, an empty `patch.diff`, and
 * a report.json with `patch_is_None`; a batch's run report counts it in
 * `empty_patch_ids`.
 */
export function recordEmptyPrediction(task: Task, cfg: HarnessConfig, patch: PatchInput, cacheKey?: string): RunOutcome {
  const runDir = path.join(cfg.runsDir, newRunId(task.task_id));
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'patch.diff'), '');
  const rec = new RunRecorder(task, { runDir }, {
    status: 'failed',
    error: `empty patch: the prediction (${patch.source}) has no model_patch; not run, as SWE-bench (its run report counts it in empty_patch_ids)`,
    patch: { source: patch.source, sha256: sha256(''), bytes: 0, files: [], applied_with: null },
    engine: undefined, // nothing runs: no engine
    ...(cacheKey ? { cache_key: cacheKey } : {}),
  });
  return rec.finish();
}

export interface RecorderOptions {
  runDir: string;
  signal?: AbortSignal;
  /** Progress lines; null: the stages are recorded silently. */
  log?: ((line: string) => void) | null;
  /** Last touches before every write (the agent adds its usage and stop reason). */
  beforeWrite?: (result: RunResult, aborted: boolean) => void;
}

/** One run's result as it builds up: stages go in, a status comes out, result.json is written once. */
export class RunRecorder {
  readonly result: RunResult;
  readonly inst: InstanceTask | null;
  private readonly started = performance.now();

  constructor(
    task: Task,
    private readonly o: RecorderOptions,
    extra: Partial<RunResult> = {},
  ) {
    // The engine the run goes to (README, "Results"): named even when it fails to start there.
    this.result = { ...blankResult(task), engine: defaultEngine().label, ...extra };
    this.inst = isInstanceTask(task) ? task : null;
  }

  get resultFile(): string {
    return path.join(this.o.runDir, 'result.json');
  }

  /** Record a stage; true when the run may go on. `prefix` marks the error (e.g. "test patch: "). */
  stage(run: StageRun, prefix = ''): boolean {
    this.result.stages.push(run.record);
    const from = run.record.snapshot ? ` (snapshot ${run.record.snapshot})` : run.record.from ? ` (from ${run.record.from})` : '';
    this.o.log?.(`[${run.record.name}] ${run.record.status}${from} ${run.record.duration_s.toFixed(2)}s${run.message ? ` — ${run.message}` : ''}`);
    // A stage skipped on purpose (install that came with the image) or cached (a snapshot) is no reason to stop.
    return run.record.status === 'ok' || ((run.record.status === 'skipped' || run.record.status === 'cached') && run.message === null) || this.stop(run, prefix);
  }

  /** Record a test run as `before` or `after`: failing tests are a verdict, not a reason to stop; a timeout, Ctrl-C or a lost container is. */
  tests(run: TestRun, which: 'before' | 'after'): boolean {
    this.result.stages.push(run.record);
    this.result[which] = run.summary;
    const detail = run.record.status === 'ok' ? `${countsLine(run.summary)}${run.summary.note ? ` (${run.summary.note})` : ''}` : run.message;
    // The tests' verdict when the stage ran to its end, else what stopped it (as result.json's stage says).
    const shown = run.record.status === 'ok' ? run.summary.status : run.record.status;
    this.o.log?.(`[${run.record.name}] ${shown} ${run.record.duration_s.toFixed(2)}s — ${detail}`);
    return run.record.status === 'ok' || this.stop(run);
  }

  /** Note why the run stops at this stage. */
  stop(run: StageRun, prefix = ''): false {
    const r = this.result;
    r.tail = run.tail;
    r.error = `${prefix}${run.message}`;
    if (run.record.status === 'timeout') {
      r.status = 'timeout';
      r.timeout_stage = run.record.name;
    } else r.status = run.record.status === 'interrupted' ? 'interrupted' : 'error';
    return false;
  }

  /**
   * The verdict of the deciding run: for an instance SWE-bench's grading (the
   * per-test map decides, so unrelated failures can still resolve it), else
   * whether the deciding tests passed.
   */
  decide(after: TestSummary, parser: LogParser = LOG_PARSERS.pytest): void {
    const r = this.result;
    r.after = after;
    r.tail = after.tail;
    const unread = unreadTests(after, this.inst !== null);
    if (unread) {
      // No verdict can be read from this run: say so rather than call it failing, and
      // let the test summary say the same (its runner may have called it a pass).
      r.status = 'error';
      r.error = `tests_after: ${unread}`;
      r.after = { ...after, status: 'error', note: unread };
      return;
    }
    if (this.inst) {
      r.grading = gradeWithParser(parser, this.inst, after.tests, this.inst.tests);
      r.resolved = r.grading.resolved;
      r.status = r.resolved ? 'passed' : 'failed';
    } else {
      r.status = after.status === 'passed' ? 'passed' : 'failed';
    }
  }

  /** Something was thrown: Ctrl-C is `interrupted`, a HarnessError keeps its exit code. */
  fail(err: unknown): RunOutcome {
    const aborted = this.o.signal?.aborted ?? false;
    this.result.status = aborted ? 'interrupted' : 'error';
    this.result.error = errorMessage(err);
    return this.finish(err instanceof HarnessError && !aborted ? err.exitCode : undefined);
  }

  /** Settle status, exit code and duration, and write result.json. */
  finish(exitCode?: number): RunOutcome {
    const r = this.result;
    const aborted = this.o.signal?.aborted ?? false;
    if (aborted) r.status = 'interrupted';
    if (this.inst && r.resolved === undefined) r.resolved = false; // rejected, failed or broken: not resolved
    this.o.beforeWrite?.(r, aborted);
    r.exit_code = exitCode ?? EXIT_CODES[r.status];
    r.duration_s = durationS(this.started);
    // SWE-bench's per-instance report.json, next to result.json (plain tasks have none);
    // written first: result.json, written last, names it as where its grading is.
    if (this.inst) writeInstanceReport(this.o.runDir, r);
    const resultFile = writeResult(this.o.runDir, r);
    return { result: r, runDir: this.o.runDir, resultFile };
  }
}

/**
 * Why a finished test run gives no verdict, or null when it does: the runner
 * could not run (usage error, no summary), or, for an instance graded per
 * test, the output names no test although tests ran.
 */
function unreadTests(after: TestSummary, perTest: boolean): string | null {
  if (after.status === 'error') return after.note ?? 'the test run could not be read';
  if (perTest && after.collected > 0 && Object.keys(after.tests).length === 0) {
    return `${countsLine(after)} but the output names no test: per-test statuses come from pytest -rA's short summary, so the test command must keep -rA`;
  }
  return null;
}
