/**
 * One run of one task, end to end: container → clone → install → (tests
 * before → apply patch) → tests → result.json. Whatever happens — failure,
 * timeout, bad input, Ctrl-C — a result file is written and the container is
 * removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { disconnectNetwork } from '../engine/docker.js';
import { EXIT_CODES, HarnessError, errorMessage } from '../core/errors.js';
import { checkPatch } from './guardrails.js';
import { gradeInstance } from '../testing/grading.js';
import { isInstanceTask } from '../task/instances.js';
import { minimumTtl, prepare, startContainer, stopContainer } from './sandbox.js';
import { writeResult, type RunResult } from './result.js';
import { applyPatch, clone, install, runPytest, type PytestRun, type StageRun } from './stages.js';
import type { PatchInput, RunStatus, StageRecord, Task } from '../core/types.js';
import { sha256 } from '../core/values.js';

export interface RunOptions {
  cfg: HarnessConfig;
  /** Image from the CLI; falls back to the task's, then to the best harness image. */
  image?: string | null;
  patch?: PatchInput | null;
  /** Timeouts given explicitly on the CLI: they win over the task row, which wins over the defaults. */
  timeouts?: Partial<StageTimeouts>;
  signal?: AbortSignal;
  /** Run the tests before the patch too (default: yes for tasks, no for SWE-bench instances). */
  before?: boolean;
  /** Progress lines (stage outcomes) for the terminal. */
  log?: (line: string) => void;
}

export interface RunOutcome {
  result: RunResult;
  runDir: string;
  resultFile: string;
}

/** `20261123-183000-a1b2-<task>`: sortable, unique, and a valid container name part. */
export function newRunId(taskId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}-${taskId}`;
}

export function effectiveTimeouts(cfg: HarnessConfig, task: Task, cli: Partial<StageTimeouts> = {}): StageTimeouts {
  return { ...cfg.timeouts, ...task.timeouts, ...cli };
}

const round = (s: number) => Math.round(s * 100) / 100;

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
 * Bad input found after the task is known (an unreadable patch, a bad
 * timeout): the run never starts, but its result file is still written.
 */
export function recordBadInput(task: Task, cfg: HarnessConfig, err: HarnessError): RunOutcome {
  const runDir = path.join(cfg.runsDir, newRunId(task.task_id));
  const result = { ...blankResult(task), error: err.message, exit_code: err.exitCode };
  return { result, runDir, resultFile: writeResult(runDir, result) };
}

/**
 * Key of a result: a hash of everything that produced it — the task (all its
 * fields, grading data included), the image (by id, so a rebuilt image counts
 * as new), the patch, the effective time limits (a timeout under a longer
 * limit is a new question) and the mode (plain run, or the agent's model).
 * run-many skips a task whose key is already done, so a changed patch is never
 * taken for "already done".
 */
export function cacheKey(
  task: Task,
  image: { name: string; id: string },
  patchSha: string | null,
  timeouts: StageTimeouts,
  mode = 'run',
): string {
  const canonical = JSON.stringify({ task: sortKeys(task), image: image.id || image.name, patch: patchSha, timeouts: sortKeys(timeouts), mode });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sortKeys(x)]));
  }
  return v;
}

export async function runTask(task: Task, opts: RunOptions): Promise<RunOutcome> {
  const { cfg } = opts;
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const runId = newRunId(task.task_id);
  const runDir = path.join(cfg.runsDir, runId);
  fs.mkdirSync(runDir, { recursive: true });
  const timeouts = effectiveTimeouts(cfg, task, opts.timeouts);

  const result = blankResult(task);
  const inst = isInstanceTask(task) ? task : null;
  const stages: StageRecord[] = result.stages;
  let containerRequested = false;

  /** Note why the run stops at this stage. */
  const stopAt = (run: StageRun): false => {
    result.tail = run.tail;
    result.error = run.message;
    if (run.record.status === 'timeout') {
      result.status = 'timeout';
      result.timeout_stage = run.record.name;
    } else if (run.record.status === 'interrupted') result.status = 'interrupted';
    else result.status = 'error';
    return false;
  };

  /** Record a stage; returns true when the run may go on. */
  const record = (run: StageRun): boolean => {
    stages.push(run.record);
    log(`[${run.record.name}] ${run.record.status} ${run.record.duration_s.toFixed(2)}s${run.message ? ` — ${run.message}` : ''}`);
    return run.record.status === 'ok' || stopAt(run);
  };

  /** Record the test patch going on; its failure is the dataset's problem, reported as an error. */
  const applyTestPatch = (applied: StageRun): boolean => {
    if (record(applied)) return true;
    result.error = `test patch: ${applied.message}`;
    return false;
  };

  /** Record a pytest stage: failing tests are a verdict, not a reason to stop; a timeout, Ctrl-C or a lost container is. */
  const recordTests = (run: PytestRun): boolean => {
    stages.push(run.record);
    log(`[${run.record.name}] ${run.summary.status} ${run.record.duration_s.toFixed(2)}s — ${run.record.status === 'ok' ? countsLine(run.summary) : run.message}`);
    return run.record.status === 'ok' || stopAt(run);
  };

  try {
    if (opts.patch) {
      fs.writeFileSync(path.join(runDir, 'patch.diff'), opts.patch.text);
      const check = checkPatch(opts.patch.text, cfg.patch);
      result.patch = {
        source: opts.patch.source,
        sha256: sha256(opts.patch.text),
        bytes: Buffer.byteLength(opts.patch.text),
        files: check.ok ? check.files : [],
        applied_with: null,
      };
      // Guardrails first: a patch we refuse costs no container at all.
      if (!check.ok) {
        result.status = 'patch_rejected';
        result.error = `patch rejected: ${check.reason}`;
        log(`[apply_patch] rejected — ${check.reason}`);
        return finish();
      }
    }

    const prep = await prepare(task, cfg, opts.image ?? null, log, opts.signal);
    result.image = { name: prep.image.name, python: prep.image.python, flavour: prep.image.flavour };
    log(`image ${prep.image.name} (python ${prep.image.python}, ${prep.image.flavour})`);
    containerRequested = true;
    // The stages read their limits from cfg: this task's effective timeouts, and a
    // dead-man's switch that outlives them all.
    const limits = { ...cfg.container, ttlSeconds: Math.max(cfg.container.ttlSeconds, minimumTtl(timeouts)) };
    const env = await startContainer(prep, { cfg: { ...cfg, timeouts, container: limits }, runId, runDir, signal: opts.signal });
    if (inst) env.vars = inst.env;
    result.cache_key = cacheKey(task, prep.image, result.patch?.sha256 ?? null, timeouts);

    const cloned = await clone(env, prep.cloneSource, task.ref, timeouts.clone);
    result.head = cloned.head;
    if (!record(cloned)) return finish();

    if (task.install) {
      if (!record(await install(env, task.install, timeouts.install))) return finish();
    }
    // From here on the code under test runs: no network, whatever the task is.
    await disconnectNetwork(env.container);

    const selection = { k: task.pytest_k, tests: task.tests, command: inst?.test_cmd ?? null };
    let resetForCandidate: string[] = [];
    if (opts.patch) {
      // A failing "before" run is expected (that is what the patch is for); only
      // a timeout or Ctrl-C stops the run here. SWE-bench grading runs the tests
      // once, after both patches: instances skip it unless asked.
      if (opts.before ?? !inst) {
        // An instance's "before" is SWE-bench's: its tests (the test patch) without the candidate.
        if (inst?.test_patch) {
          const tp = await applyPatch(env, inst.test_patch, { name: 'apply_test_patch', resetFirst: true });
          if (!applyTestPatch(tp)) return finish();
          // The candidate goes onto the base versions of the test files, as without --before.
          resetForCandidate = tp.files;
        }
        const before = await runPytest(env, 'tests_before', selection, timeouts.test);
        result.before = before.summary;
        if (!recordTests(before)) return finish();
      }

      const applied = await applyPatch(env, opts.patch.text, { resetPaths: resetForCandidate });
      result.patch!.applied_with = applied.applied_with;
      if (!record(applied)) {
        if (applied.record.status === 'failed') result.status = 'patch_failed';
        return finish();
      }
    }
    // As SWE-bench: the test files go back to the base commit, then the test patch goes on.
    if (inst?.test_patch && !applyTestPatch(await applyPatch(env, inst.test_patch, { name: 'apply_test_patch', resetFirst: true }))) return finish();

    const after = await runPytest(env, 'tests_after', selection, timeouts.test);
    result.after = after.summary;
    if (!recordTests(after)) return finish();
    result.tail = after.tail;
    if (inst) {
      // Graded like SWE-bench: the per-test map decides, not pytest's overall verdict
      // (a suite with unrelated failures can still resolve the instance).
      result.grading = gradeInstance(inst, after.summary.tests, inst.tests);
      result.resolved = result.grading.resolved;
      result.status = result.resolved ? 'passed' : 'failed';
    } else {
      result.status = after.summary.status === 'passed' ? 'passed' : 'failed';
    }
    return finish();
  } catch (err) {
    result.status = opts.signal?.aborted ? 'interrupted' : 'error';
    result.error = errorMessage(err);
    result.exit_code = err instanceof HarnessError && !opts.signal?.aborted ? err.exitCode : EXIT_CODES[result.status];
    return finish(result.exit_code);
  } finally {
    // Removal by name also catches a container whose `docker run` raced a Ctrl-C.
    if (containerRequested) await stopContainer(runId);
  }

  function finish(exitCode?: number): RunOutcome {
    if (opts.signal?.aborted) result.status = 'interrupted';
    if (inst && result.resolved === undefined) result.resolved = false; // rejected, failed or broken: not resolved
    result.exit_code = exitCode ?? EXIT_CODES[result.status];
    result.duration_s = round((performance.now() - started) / 1000);
    const resultFile = writeResult(runDir, result);
    return { result, runDir, resultFile };
  }
}

function countsLine(s: { counts: { passed: number; failed: number; errors: number; skipped: number }; note: string | null }): string {
  const c = s.counts;
  return `${c.passed} passed, ${c.failed} failed, ${c.errors} errors, ${c.skipped} skipped${s.note ? ` (${s.note})` : ''}`;
}

export type { RunStatus };
