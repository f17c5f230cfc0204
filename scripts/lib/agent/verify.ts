/**
 * The agent run's verdict, given by the harness, never by the model: the
 * deciding tests run again here (or the model's last passing run is taken),
 * or the model's patch is graded by runTask in a fresh container — always so
 * for SWE-bench instances, whose deciding tests are hidden from the model.
 */
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import type { PatchInput, Task, TestSummary } from '../core/types.js';
import { disconnectNetwork } from '../engine/docker.js';
import { isInstanceTask, type InstanceTask } from '../task/instances.js';
import { tailLinesOf } from '../testing/pytest.js';
import { countsLine } from '../testing/runner.js';
import type { RunRecorder } from '../run/outcome.js';
import type { RunResult } from '../run/result.js';
import { runTask } from '../run/run-task.js';
import type { Prepared } from '../run/sandbox.js';
import { clone, install, runTests, type StageEnv, type StageRun } from '../run/stages.js';
import type { Toolbox } from './tools.js';

/** What a fresh-container grading needs of the agent run's options. */
export interface GradeOptions {
  cfg: HarnessConfig;
  image?: string | null;
  timeouts?: Partial<StageTimeouts>;
  signal?: AbortSignal;
}

/** A test summary with the result's usual tail length (the tools keep more for the model). */
export function forResult(s: TestSummary, cfg: HarnessConfig): TestSummary {
  return { ...s, tail: tailLinesOf(s.tail, cfg.logs.tailLines) };
}

/**
 * An instance's verdict, as SWE-bench would give it for this prediction: the
 * model's patch graded by runTask in a fresh container (test patch, hidden
 * tests, FAIL_TO_PASS/PASS_TO_PASS), its run kept under <run dir>/eval/.
 */
export async function evaluate(inst: InstanceTask, diff: PatchInput, result: RunResult, opts: GradeOptions, log: (l: string) => void): Promise<void> {
  if (!diff.text) {
    result.status = 'failed';
    result.resolved = false;
    result.error = 'the model changed nothing: empty patch';
    log('[evaluate] empty patch: not resolved');
    return;
  }
  log('[evaluate] grading the model\'s patch as SWE-bench does, in a fresh container');
  await grade(inst, diff, result, opts, log, 'evaluate');
}

/**
 * The model's patch (none when it changed nothing) graded by runTask in a
 * fresh container: clone, install (with the network when the task has it),
 * apply, the deciding tests; for an instance, SWE-bench's grading. The run is
 * kept under `opts.cfg.runsDir` (<run dir>/eval/).
 */
export async function grade(task: Task, diff: PatchInput, result: RunResult, opts: GradeOptions, log: (l: string) => void, label: 'evaluate' | 'verify'): Promise<void> {
  const { result: graded } = await runTask(task, {
    cfg: opts.cfg,
    image: opts.image,
    timeouts: opts.timeouts,
    patch: diff.text ? diff : null,
    signal: opts.signal,
    before: false,
  });
  result.stages.push(...graded.stages);
  result.head ??= graded.head;
  result.after = graded.after;
  if (isInstanceTask(task)) {
    result.grading = graded.grading;
    result.resolved = graded.resolved ?? false;
  }
  result.tail = graded.tail;
  result.error = graded.error;
  result.timeout_stage = graded.timeout_stage;
  if (result.patch) result.patch.applied_with = graded.patch?.applied_with ?? null;
  // The model's patch that does not apply to a clean checkout is the model's failure, not the harness's.
  result.status = graded.status === 'patch_failed' || graded.status === 'patch_rejected' ? 'failed' : graded.status;
  const verdict = isInstanceTask(task) ? (result.resolved ? 'resolved' : 'not resolved') : result.status;
  log(`[${label}] ${verdict} (${graded.status})`);
}

/**
 * The verdict: the deciding tests as the harness runs them. The model's own
 * last run is taken when it was the deciding selection, passed, and nothing
 * changed since; otherwise they run again (cloning and installing first when
 * the model never did).
 * @returns 'fresh' when they cannot run here: the install is still to do and
 * needs the network this container no longer has (a file tool, command or
 * test cut it before the model installed); the caller then grades the model's
 * patch in a fresh container.
 */
export async function verify(env: StageEnv, prep: Prepared, tools: Toolbox, task: Task, rec: RunRecorder, log: (l: string) => void): Promise<'done' | 'fresh'> {
  const cfg = env.cfg;
  const ok = (run: StageRun) => rec.stage(run, 'verification: ');
  const last = tools.lastDeciding;
  if (last && last.version === tools.version && last.summary.status === 'passed') {
    log("[verify] the deciding tests passed in the model's last run and nothing changed since");
    rec.decide(forResult(last.summary, cfg), tools.runner.parser);
    return 'done';
  }
  if (task.install && !tools.installed && prep.network && !env.container.networked) return 'fresh';
  if (!tools.cloned) {
    const c = await clone(env, prep.cloneSource, task.ref, cfg.timeouts.clone);
    rec.result.head = c.head;
    if (!ok(c)) return 'done';
  }
  if (task.install && !tools.installed && !ok(await install(env, task.install, cfg.timeouts.install))) return 'done';
  await disconnectNetwork(env.container);
  const run = await runTests(env, 'tests_after', tools.deciding, cfg.timeouts.test, tools.runner);
  // Failing tests are the verdict; only a timeout, Ctrl-C or a lost container stops here.
  if (!rec.tests(run, 'after')) {
    rec.result.error = `verification: ${run.message}`;
    return 'done';
  }
  log(`[verify] ${run.summary.status}: ${countsLine(run.summary)}`);
  rec.decide(run.summary, tools.runner.parser);
  return 'done';
}
