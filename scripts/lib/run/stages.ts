/**
 * The stages of a run — clone, install, tests (apply is in apply.ts) — each a
 * function of a live container, called in order by runTask and as tools by the
 * agent. A stage never throws for what the code under test does (failures,
 * timeouts); only when the harness itself cannot work (engine gone).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HarnessConfig } from '../core/config.js';
import { execIn, type Container, type ExecResult } from '../engine/docker.js';
import { round2 } from '../core/values.js';
import { cloneArgv, clonedHead, refNotFound } from '../source/clone.js';
import { checkoutArgv, checkoutNote } from '../source/in-image.js';
import { tailLinesOf } from '../testing/pytest.js';
import { countsLine, markedArgv, pytestRunner, readTestOutput, type TestRunner, type TestSelection } from '../testing/runner.js';
import type { StageName, StageRecord, StageStatus, TestSummary } from '../core/types.js';

export interface StageEnv {
  container: Container;
  cfg: HarnessConfig;
  /** Directory for `<stage>.log` files, or null to keep no logs. */
  logDir: string | null;
  /** Ctrl-C: stops the stage at once (the caller removes the container). */
  signal?: AbortSignal;
  /** Environment variables every stage command gets (a task's or spec's `env`, e.g. PYTHONPATH=src). */
  vars?: Record<string, string>;
}

export interface StageRun {
  record: StageRecord;
  /** One line saying why the stage did not succeed; null when it did. */
  message: string | null;
  /** Last lines of the stage's output. */
  tail: string;
}

export function statusOf(r: ExecResult): StageStatus {
  if (r.interrupted) return 'interrupted';
  if (r.timedOut) return 'timeout';
  // SIGKILL that was not our timeout: the OOM killer, or the container removed under us.
  if (r.lost || r.exitCode === 137) return 'error';
  if (r.exitCode === 0) return 'ok';
  return r.exitCode === null ? 'error' : 'failed';
}

export async function execStage(
  env: StageEnv,
  name: StageName,
  argv: string[],
  timeoutS: number,
  extra: { input?: string | Uint8Array; vars?: Record<string, string> } = {},
) {
  const r = await execIn(env.container, argv, {
    timeoutS,
    backstopS: env.cfg.backstopSeconds,
    logs: env.cfg.logs,
    logFile: env.logDir ? path.join(env.logDir, `${name}.log`) : null,
    cwd: name === 'clone' ? '/' : env.cfg.workdir,
    input: extra.input,
    env: { ...env.vars, ...extra.vars },
    signal: env.signal,
  });
  const status = statusOf(r);
  const record: StageRecord = { name, status, duration_s: round2(r.durationS), exit_code: r.exitCode };
  const tail = tailLinesOf(r.output, env.cfg.logs.tailLines);
  let message: string | null = null;
  if (status === 'timeout') message = `${name} timed out after ${timeoutS}s`;
  else if (status === 'interrupted') message = `${name} interrupted`;
  else if (r.lost) message = `${name}: the container was lost (${r.lost})`;
  else if (r.exitCode === 137) message = `${name}: killed by SIGKILL before its time limit (out of memory, or the container was removed)`;
  else if (status !== 'ok') {
    const last = tailLinesOf(r.output, 1).trim() || r.clientError || 'no output';
    message = `${name} exited ${r.exitCode ?? 'abnormally'}: ${last}`;
  }
  return { r, run: { record, message, tail } satisfies StageRun };
}

/** Clone `source` (a URL, or SOURCE_MOUNT for a local repo) into the workdir at `ref`. */
export async function clone(env: StageEnv, source: string, ref: string, timeoutS: number): Promise<StageRun & { head: string | null }> {
  const { r, run } = await execStage(env, 'clone', cloneArgv(source, ref, env.cfg.workdir), timeoutS);
  if (run.record.status === 'failed') run.message = refNotFound(r.output, source, ref) ?? run.message;
  return { ...run, head: clonedHead(r.output) };
}

/**
 * Prebuilt image: no clone; the repository already at `workdir` is checked to be
 * at `base` (reset to it when the image holds more). Recorded as the clone stage,
 * `from: "image"`; `note` says whether a reset was needed.
 */
export async function checkoutInImage(env: StageEnv, base: string, timeoutS: number): Promise<StageRun & { head: string | null; note: string | null }> {
  const { r, run } = await execStage(env, 'clone', checkoutArgv(env.cfg.workdir, base), timeoutS);
  run.record.from = 'image';
  return { ...run, head: clonedHead(r.output), note: checkoutNote(r.output) };
}

/** The install stage of a prebuilt image: nothing runs, the image's env is the install. */
export function installedInImage(): StageRun {
  return { record: { name: 'install', status: 'skipped', duration_s: 0, exit_code: null, from: 'image' }, message: null, tail: '' };
}

/** Run the task's install command in the repo (bash -c). */
export async function install(env: StageEnv, command: string, timeoutS: number): Promise<StageRun> {
  return (await execStage(env, 'install', ['bash', '-c', command], timeoutS)).run;
}

export interface TestRun extends StageRun {
  summary: TestSummary;
}

/** Run the selected tests between unguessable markers and read what the runner reported. */
export async function runTests(
  env: StageEnv,
  name: 'tests_before' | 'tests_after',
  selection: TestSelection,
  timeoutS: number,
  runner: TestRunner = pytestRunner,
): Promise<TestRun> {
  const nonce = randomBytes(8).toString('hex');
  const { r, run } = await execStage(env, name, markedArgv(runner.argv(selection), nonce), timeoutS);
  // The verdict must not depend on how much the tests print: past the in-memory window only the tail is kept.
  const headCut = r.bytes > r.outputBytes.length;
  const { summary, complete } = readTestOutput(runner, r.output, nonce, r.exitCode, env.cfg.logs.tailLines, headCut);
  if (run.record.status === 'timeout') {
    summary.status = 'timeout';
    summary.note = `killed after ${timeoutS}s`;
  } else if (run.record.status === 'interrupted') {
    summary.status = 'error';
    summary.note = 'interrupted';
  }
  // Failing tests are the code's verdict, not a broken stage: the stage is ok when the
  // runner ran to the end. (A SIGKILL before the limit is already an `error` stage: see statusOf.)
  if (run.record.status === 'failed' && complete) {
    run.record.status = 'ok';
    run.message = null;
  }
  if (summary.status !== 'passed' && run.message === null) {
    run.message = `${name}: ${summary.note ?? `${countsLine(summary)} (exit ${summary.exit_code ?? 'none'})`}`;
  }
  return { ...run, summary, tail: summary.tail || run.tail };
}
