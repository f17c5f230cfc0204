/**
 * Runs of SWE-Factory / R2E-Gym "transferred" rows: each carries its
 * `docker_image` (the repository already installed in `/testbed`), the
 * `dockerfile` that builds it, and an `eval_script` that resets the test
 * files, applies the test patch itself, runs the tests and prints
 * `OMNIGRIL_EXIT_CODE=<rc>`. SWE-Factory's evaluation applies the candidate
 * patch in /testbed, then runs `bash /eval.sh`; so does this module:
 * image (built from the dockerfile when missing) → apply patch → eval script.
 *
 * Verdict: with FAIL_TO_PASS / PASS_TO_PASS lists, SWE-bench's grading of the
 * script's output read by the row's (or spec's, or repository's) log parser;
 * without them, SWE-Factory's own rule: resolved when OMNIGRIL_EXIT_CODE is 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import type { PatchInput, Task, TestSummary } from '../core/types.js';
import { createContainer, execIn } from '../engine/docker.js';
import { ensureDockerfileImage } from '../engine/dockerfile-image.js';
import { resolveImage } from '../engine/images.js';
import { isInstanceTask, type InstanceTask } from '../task/instances.js';
import { LOG_PARSERS, logParserForRepo, type LogParser } from '../testing/parsers/index.js';
import type { TestRunner } from '../testing/runner.js';
import { applyPatch } from './apply.js';
import { cacheKey } from './keys.js';
import type { RunOutcome, RunRecorder } from './outcome.js';
import { minimumTtl, stopContainer } from './sandbox.js';
import { runTests, type StageEnv } from './stages.js';

/** Where SWE-Factory's images hold the repository (its Dockerfiles' `WORKDIR /testbed`). */
export const EVAL_WORKDIR = '/testbed';
/** The script inside the container: a root-only directory, like the apply chain's scratch files. */
const EVAL_FILE = '/run/swe-harness/eval.sh';
/** The line SWE-Factory's eval scripts end their test command with (`echo "OMNIGRIL_EXIT_CODE=$rc"`). */
const EXIT_LINE_RE = /^(?:\+ echo )?OMNIGRIL_EXIT_CODE=(\d+)\s*$/gm;

export type EvalScriptTask = InstanceTask & { eval_script: string };

/** A row that brings its own eval script (SWE-Factory / R2E-Gym). */
export function hasEvalScript(task: Task): task is EvalScriptTask {
  return isInstanceTask(task) && typeof task.eval_script === 'string' && task.eval_script.length > 0;
}

/** The image of a row without `docker_image`: named after the instance, as SWE-Factory names its own builds. */
export function evalImageName(task: Pick<InstanceTask, 'task_id' | 'image'>): string {
  return task.image ?? `swe-harness-factory/${task.task_id.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:latest`;
}

/** The exit code the eval script printed for its tests (the last OMNIGRIL_EXIT_CODE line), or null. */
export function evalExitCode(output: string): number | null {
  let code: number | null = null;
  for (const m of output.matchAll(EXIT_LINE_RE)) code = Number.parseInt(m[1]!, 10);
  return code;
}

/**
 * A TestRunner whose command is the eval script and whose exit code is the
 * one the script printed for its tests (the script's own ends with a
 * `git checkout` and says nothing).
 */
export function evalScriptRunner(parser: LogParser): TestRunner & { lastExitLine: number | null } {
  const runner = {
    name: `eval_script+${parser.name}`,
    parser,
    /** The OMNIGRIL_EXIT_CODE of the last parsed run, null when it printed none. */
    lastExitLine: null as number | null,
    argv: () => ['bash', EVAL_FILE],
    parse: (body: string, exitCode: number | null, tailLines: number) => {
      runner.lastExitLine = evalExitCode(body);
      return parser.parse(body, runner.lastExitLine ?? exitCode, tailLines);
    },
  };
  return runner;
}

export interface EvalScriptContext {
  cfg: HarnessConfig;
  /** The CLI's --image, which wins over the row's. */
  image?: string | null;
  patch?: PatchInput | null;
  before?: boolean;
  signal?: AbortSignal;
  log: (line: string) => void;
  timeouts: StageTimeouts;
  runId: string;
  runDir: string;
  rec: RunRecorder;
}

/**
 * The run of an eval-script row, from the image to result.json; the caller
 * has checked the patch against the guardrails already. The container is
 * removed here whatever happens; errors propagate to the caller's recorder.
 */
export async function runEvalScript(task: EvalScriptTask, ctx: EvalScriptContext): Promise<RunOutcome> {
  const { rec, cfg, timeouts } = ctx;
  const { result } = rec;
  const name = ctx.image ?? evalImageName(task);
  if (!ctx.image) {
    if (task.dockerfile) await ensureDockerfileImage({ name, dockerfile: task.dockerfile, owner: task.task_id, log: ctx.log });
    else if (!(await inspect(name))) throw new HarnessError('image', `image "${name}" of ${task.task_id} is not present and the row has no dockerfile to build it from`);
  }
  const image = await resolveImage(name);
  result.image = { name: image.name, python: image.python, flavour: image.flavour };
  result.cache_key = cacheKey(task, image, result.patch?.sha256 ?? null, timeouts);
  ctx.log(`image ${image.name} (the row's own: no clone, no install; eval script in ${EVAL_WORKDIR})`);

  const runCfg: HarnessConfig = {
    ...cfg,
    timeouts,
    workdir: EVAL_WORKDIR,
    container: { ...cfg.container, ttlSeconds: Math.max(cfg.container.ttlSeconds, minimumTtl(timeouts)) },
  };
  const start = async (): Promise<StageEnv> => {
    // The repository is in the image: the container never needs the network.
    const container = await createContainer({ image: image.name, runId: ctx.runId, limits: runCfg.container, network: false });
    const env: StageEnv = { container, cfg: runCfg, logDir: ctx.runDir, signal: ctx.signal, vars: task.env };
    await putScript(env, task.eval_script, ctx.runDir);
    return env;
  };
  const parser = task.log_parser ? LOG_PARSERS[task.log_parser] : logParserForRepo(task.instance_repo);
  const runner = evalScriptRunner(parser);
  const selection = { k: null, tests: task.tests };
  try {
    if (ctx.patch && ctx.before) {
      // A container of its own, as SWE-Factory runs its "before" state: the script leaves the test patch's new files behind.
      const ok = rec.tests(await runTests(await start(), 'tests_before', selection, timeouts.test, runner), 'before');
      await stopContainer(ctx.runId);
      if (!ok) return rec.finish();
    }
    const env = await start();
    result.head = await headOf(env);
    if (ctx.patch) {
      const applied = await applyPatch(env, ctx.patch.text, { encoding: ctx.patch.encoding });
      result.patch!.applied_with = applied.applied_with;
      if (!rec.stage(applied)) {
        if (applied.record.status === 'failed') result.status = 'patch_failed';
        return rec.finish();
      }
    }
    const after = await runTests(env, 'tests_after', selection, timeouts.test, runner);
    if (!rec.tests(after, 'after')) return rec.finish();
    if (task.fail_to_pass.length || task.pass_to_pass.length) rec.decide(after.summary, parser);
    else decideByExitLine(rec, after.summary, runner.lastExitLine);
    return rec.finish();
  } finally {
    await stopContainer(ctx.runId);
  }
}

async function inspect(name: string): Promise<boolean> {
  return resolveImage(name).then(
    () => true,
    (err: unknown) => {
      if (err instanceof HarnessError && err.code === 'image') return false;
      throw err;
    },
  );
}

/** The eval script into a root-only file of the container (by stdin: no size or quoting limits), and a copy in the run directory. */
async function putScript(env: StageEnv, script: string, runDir: string): Promise<void> {
  fs.writeFileSync(path.join(runDir, 'eval.sh'), script);
  const r = await execIn(env.container, ['sh', '-c', `mkdir -p -m 700 ${path.posix.dirname(EVAL_FILE)} && cat > ${EVAL_FILE}`], {
    timeoutS: 30,
    backstopS: env.cfg.backstopSeconds,
    logs: env.cfg.logs,
    logFile: null,
    input: script,
    signal: env.signal,
  });
  if (r.exitCode !== 0) throw new HarnessError('internal', `could not write the eval script into the container: ${r.lost ?? (r.output.trim() || `exit ${r.exitCode}`)}`);
}

/** The commit the image's repository is at, or null when /testbed is not a git work tree. */
async function headOf(env: StageEnv): Promise<string | null> {
  const r = await execIn(env.container, ['git', '-C', EVAL_WORKDIR, 'rev-parse', 'HEAD'], {
    timeoutS: 30,
    backstopS: env.cfg.backstopSeconds,
    logs: env.cfg.logs,
    logFile: null,
    signal: env.signal,
  });
  const head = r.output.trim();
  return r.exitCode === 0 && /^[0-9a-f]{40}$/.test(head) ? head : null;
}

/** SWE-Factory's verdict for rows without test lists: the tests' exit code, as the script printed it. */
function decideByExitLine(rec: RunRecorder, after: TestSummary, code: number | null): void {
  const r = rec.result;
  r.after = after;
  r.tail = after.tail;
  if (code === null) {
    r.status = 'error';
    r.error = 'tests_after: the eval script printed no OMNIGRIL_EXIT_CODE line and the row has no FAIL_TO_PASS / PASS_TO_PASS lists to grade by';
    return;
  }
  r.resolved = code === 0;
  r.status = r.resolved ? 'passed' : 'failed';
}
