/**
 * One runner-agent run of one task: the container run-one would use, the
 * agent loop with the stages as tools, the model's `git diff` as patch.diff,
 * a final verification of the deciding tests by the harness itself, and the
 * same result.json as run-one plus model, turns, usage and stop_reason.
 * Whatever happens the result and the trajectory are written and the
 * container is removed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_DEFAULTS, type AgentLimits, type HarnessConfig, type StageTimeouts } from '../core/config.js';
import { disconnectNetwork, execIn, type Container } from '../engine/docker.js';
import { EXIT_CODES, HarnessError, errorMessage } from '../core/errors.js';
import { pytestCommand, tailLinesOf } from '../testing/pytest.js';
import { isInstanceTask, type InstanceTask } from '../task/instances.js';
import { appendPrediction } from '../task/predictions.js';
import { blankResult, cacheKey, effectiveTimeouts, newRunId, runTask, type RunOutcome } from '../run/run-task.js';
import { writeResult, type RunResult } from '../run/result.js';
import { prepare, startContainer, stopContainer, type Prepared } from '../run/sandbox.js';
import { clone, install, runPytest, type StageEnv, type StageRun } from '../run/stages.js';
import type { Task, TestSummary } from '../core/types.js';
import { agentLoop, type StopReason } from './loop.js';
import { ModelClient, modelName, type ModelSettings } from './model.js';
import { Prompts } from './prompts.js';
import { Toolbox } from './tools.js';
import { Trajectory } from './trajectory.js';
import { sha256 } from '../core/values.js';
import { patchFilesOf } from '../core/diff.js';

export interface AgentRunOptions {
  cfg: HarnessConfig;
  model: ModelSettings;
  /** false: the model writes fenced ```action blocks instead of tool calls (--no-tool-calls). */
  toolCalls?: boolean;
  /** Overrides of AGENT_DEFAULTS: maxTurns, timeLimitS, maxTokensTotal, retry waits... */
  limits?: Partial<AgentLimits>;
  /** `program_id` sent in every request body: a value, or true for the run id. */
  programId?: string | true | null;
  /** POST {"program_id"} here when the run ends (best effort). */
  releaseUrl?: string | null;
  image?: string | null;
  timeouts?: Partial<StageTimeouts>;
  /** Append the model's patch to this SWE-bench predictions dict (mini-swe-agent's preds.json). */
  predsFile?: string | null;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * What the cache key of an agent run folds in besides task, image and stage
 * limits: `agent:<model>:<hash>`, the hash over every setting that changes
 * what the agent does (server, model, temperature, extra body, tool-call mode,
 * turn/time/token limits, what its tools may do and show). Retry and request
 * timing is left out, and so is `program_id` (a router's label, often the run
 * id). run-many must call it with the same options it gives runAgent.
 */
export function agentMode(model: ModelSettings, limits: Partial<AgentLimits> = {}, toolCalls = true): string {
  const l: AgentLimits = { ...AGENT_DEFAULTS, ...limits };
  const { program_id: _label, ...extraBody } = model.extraBody;
  const settings = {
    base_url: model.baseURL.replace(/\/+$/, ''),
    model: modelName(model.model),
    temperature: model.temperature,
    extra_body: extraBody,
    tool_calls: toolCalls,
    max_turns: l.maxTurns,
    time_limit_s: l.timeLimitS,
    max_tokens_total: l.maxTokensTotal,
    repeat_limit: l.repeatLimit,
    command_timeout_s: l.commandTimeoutS,
    command_user: l.commandUser,
    observation_chars: l.observationChars,
    observation_lines: l.observationLines,
    list_max_entries: l.listMaxEntries,
  };
  const hash = createHash('sha256').update(stableJson(settings)).digest('hex').slice(0, 16);
  return `agent:${settings.model}:${hash}`;
}

/** JSON with object keys sorted at every depth: equal settings give equal text. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const PROVIDER_STOPS: ReadonlySet<StopReason> = new Set(['auth_error', 'context_length', 'provider_error']);

export async function runAgent(task: Task, opts: AgentRunOptions): Promise<RunOutcome> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const limits: AgentLimits = { ...AGENT_DEFAULTS, ...opts.limits };
  const toolCalls = opts.toolCalls ?? true;
  const runId = newRunId(task.task_id);
  const runDir = path.join(opts.cfg.runsDir, runId);
  fs.mkdirSync(runDir, { recursive: true });
  const timeouts = effectiveTimeouts(opts.cfg, task, opts.timeouts);
  // The container's dead-man's switch must outlive the whole agent run.
  const ttl = Math.ceil(limits.timeLimitS + timeouts.clone + timeouts.install + 2 * timeouts.test + 600);
  const cfg: HarnessConfig = { ...opts.cfg, timeouts, container: { ...opts.cfg.container, ttlSeconds: Math.max(opts.cfg.container.ttlSeconds, ttl) } };

  const extra = opts.model.extraBody;
  let programId: unknown = opts.programId === true ? runId : opts.programId ?? extra.program_id ?? null;
  if (programId === null && opts.releaseUrl) programId = runId;
  const model = new ModelClient({ ...opts.model, extraBody: { ...extra, ...(programId !== null ? { program_id: programId } : {}) } }, limits);
  const prompts = Prompts.load();

  const result: RunResult = { ...blankResult(task), model: model.model, turns: 0, usage: model.usage, stop_reason: 'harness_error' };
  const inst = isInstanceTask(task) ? task : null;
  const traj = new Trajectory(path.join(runDir, 'trajectory.jsonl'));
  traj.write({
    type: 'start', run_id: runId, task_id: task.task_id, repo: task.repo, ref: task.ref, model: model.model,
    base_url: opts.model.baseURL, tool_calls: toolCalls, program_id: programId, timeouts, limits,
  });
  let containerRequested = false;

  try {
    const prep = await prepare(task, cfg, opts.image ?? null, undefined, opts.signal);
    result.image = { name: prep.image.name, python: prep.image.python, flavour: prep.image.flavour };
    result.cache_key = cacheKey(task, prep.image, null, timeouts, agentMode(opts.model, limits, toolCalls));
    log(`image ${prep.image.name} (python ${prep.image.python}, ${prep.image.flavour}); model ${model.model} at ${opts.model.baseURL}`);
    containerRequested = true;
    const env = await startContainer(prep, { cfg, runId, runDir, signal: opts.signal });
    if (inst) env.vars = inst.env;
    // Tools show the model more of a stage's output than the result keeps.
    const toolEnv: StageEnv = { ...env, cfg: { ...cfg, logs: { ...cfg.logs, tailLines: limits.observationLines } } };
    const tools = new Toolbox({ env: toolEnv, prep, task, timeouts, limits, prompts });
    result.stages = tools.stages;

    const system = prompts.fill('system', { workdir: cfg.workdir }) + (toolCalls ? '' : `\n\n${prompts.fill('no_tool_calls', { tools: tools.listing() })}`);
    const loop = await agentLoop({
      model, tools, prompts, traj, system, instance: instancePrompt(prompts, task, limits.maxTurns), toolCalls,
      maxTurns: limits.maxTurns, maxTokensTotal: limits.maxTokensTotal, timeLimitS: limits.timeLimitS, repeatLimit: limits.repeatLimit,
      // An instance's deciding tests are hidden: passing the visible ones proves nothing.
      stopWhenDecidingPass: !inst,
      signal: opts.signal, log,
    });
    result.turns = loop.turns;
    result.stop_reason = loop.stop_reason;
    result.head = tools.head;
    log(`agent stopped: ${loop.stop_reason} after ${loop.turns} turn(s), ${model.usage.total_tokens} tokens`);
    if (loop.stop_reason === 'interrupted') {
      result.status = 'interrupted';
      return finish();
    }
    const diff = await savePatch(env.container, tools, result, runDir, cfg);
    // Every finished run gets its prediction, provider stops included (as
    // mini-swe-agent writes every instance); only an interrupted run has none.
    if (opts.predsFile) writePrediction(opts.predsFile, { instance_id: task.task_id, model_name_or_path: model.model, model_patch: diff }, traj, log);
    if (PROVIDER_STOPS.has(loop.stop_reason)) {
      // The provider ended the run: an infrastructure stop, not a verdict on the model.
      result.status = 'error';
      result.error = `${loop.stop_reason}: ${loop.error ?? 'the provider ended the run'}`;
      return finish();
    }
    if (tools.firstDeciding) result.before = forResult(tools.firstDeciding.summary, cfg);
    if (inst) {
      await stopContainer(runId);
      containerRequested = false;
      await evaluate(inst, diff, result, { ...opts, cfg: { ...opts.cfg, runsDir: path.join(runDir, 'eval') } }, log);
    } else {
      const graded = await verify(env, prep, tools, task, result, cfg, log);
      if (graded === 'fresh') {
        await stopContainer(runId);
        containerRequested = false;
        log('[verify] the network is off here and the install needs it: grading the model\'s patch in a fresh container');
        await grade(task, diff, result, { ...opts, cfg: { ...opts.cfg, runsDir: path.join(runDir, 'eval') } }, log, 'verify');
      }
    }
    return finish();
  } catch (err) {
    const aborted = opts.signal?.aborted ?? false;
    result.status = aborted ? 'interrupted' : 'error';
    result.stop_reason = aborted ? 'interrupted' : 'harness_error';
    result.error = errorMessage(err);
    return finish(err instanceof HarnessError && !aborted ? err.exitCode : undefined);
  } finally {
    if (containerRequested) await stopContainer(runId);
    if (opts.releaseUrl && programId !== null) await release(opts.releaseUrl, programId, limits.releaseTimeoutS, log, traj);
    traj.write({ type: 'end', status: result.status, stop_reason: result.stop_reason, turns: result.turns, usage: result.usage, exit_code: result.exit_code, error: result.error });
  }

  function finish(exitCode?: number): RunOutcome {
    if (opts.signal?.aborted) {
      result.status = 'interrupted';
      result.stop_reason = 'interrupted';
    }
    result.exit_code = exitCode ?? EXIT_CODES[result.status];
    result.duration_s = Math.round((performance.now() - started) / 10) / 100;
    result.usage = { ...model.usage };
    return { result, runDir, resultFile: writeResult(runDir, result) };
  }
}

/** The task as the model reads it. */
export function instancePrompt(prompts: Prompts, task: Task, maxTurns: number): string {
  const common = {
    task_id: task.task_id,
    ref: task.ref,
    problem: task.problem_statement ? prompts.fill('problem', { problem_statement: task.problem_statement }) : prompts.fill('no_problem'),
    install: task.install ?? '(none)',
    max_turns: maxTurns,
  };
  if (isInstanceTask(task)) {
    // The deciding tests are hidden: name the files they will be added to, not a command.
    const test_files = task.tests.length ? task.tests.join(', ') : 'the test suite';
    return prompts.fill('swebench_instance', { ...common, repo: task.instance_repo, test_files });
  }
  const sel = { k: task.pytest_k, tests: task.tests };
  const where = sel.tests.length ? sel.tests.join(', ') : 'the whole test suite (pytest discovery from the repository root)';
  const deciding = sel.k ? `the tests of ${where} selected by -k ${JSON.stringify(sel.k)}` : where;
  return prompts.fill('instance', { ...common, repo: task.repo, deciding, pytest_command: pytestCommand(sel).map(shellQuote).join(' ') });
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A test summary with the result's usual tail length (the tools keep more for the model). */
function forResult(s: TestSummary, cfg: HarnessConfig): TestSummary {
  return { ...s, tail: tailLinesOf(s.tail, cfg.logs.tailLines) };
}

// Everything changed since the clone, new files included, through a throw-away
// index so the repository's own index is left as the model's tools left it.
const DIFF_SCRIPT = String.raw`
idx=/tmp/swe-harness-diff-index
rm -f "$idx"
cp .git/index "$idx" 2>/dev/null || true
export GIT_INDEX_FILE="$idx"
git add -A >/dev/null 2>&1 || exit 90
git diff --cached --no-color --no-ext-diff "$1" 2>/dev/null
rc=$?
rm -f "$idx"
exit $rc
`;

/** Write the model's patch (`git diff` against the commit of the clone) as patch.diff. */
async function savePatch(c: Container, tools: Toolbox, result: RunResult, runDir: string, cfg: HarnessConfig): Promise<string> {
  let diff = '';
  if (tools.cloned && tools.head) {
    const r = await execIn(c, ['bash', '-c', DIFF_SCRIPT, 'diff', tools.head], {
      timeoutS: cfg.timeouts.test + 30,
      backstopS: cfg.backstopSeconds,
      logs: cfg.logs,
      logFile: null,
      cwd: cfg.workdir,
    });
    if (r.exitCode !== 0) throw new HarnessError('internal', `git diff of the model's changes failed (exit ${r.exitCode ?? 'none'}): ${tailLinesOf(r.output, 1)}`);
    if (r.bytes > Buffer.byteLength(r.output)) throw new HarnessError('internal', `the model's diff is larger than ${cfg.logs.tailWindowBytes} bytes`);
    diff = r.output;
  }
  fs.writeFileSync(path.join(runDir, 'patch.diff'), diff);
  if (diff) {
    // Read as the guardrail and the grading read patches (quoted names, spaces, renames).
    const files = [...new Set(patchFilesOf(diff).map((f) => f.path))];
    result.patch = { source: 'model', sha256: sha256(diff), bytes: Buffer.byteLength(diff), files, applied_with: null };
  }
  return diff;
}

/**
 * An instance's verdict, as SWE-bench would give it for this prediction: the
 * model's patch graded by runTask in a fresh container (test patch, hidden
 * tests, FAIL_TO_PASS/PASS_TO_PASS), its run kept under <run dir>/eval/.
 */
async function evaluate(inst: InstanceTask, diff: string, result: RunResult, opts: AgentRunOptions, log: (l: string) => void): Promise<void> {
  if (!diff) {
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
async function grade(task: Task, diff: string, result: RunResult, opts: AgentRunOptions, log: (l: string) => void, label: 'evaluate' | 'verify'): Promise<void> {
  const { result: graded } = await runTask(task, {
    cfg: opts.cfg,
    image: opts.image,
    timeouts: opts.timeouts,
    patch: diff ? { text: diff, source: 'model' } : null,
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

/** Add the run's prediction to the preds file; a failure there is logged, never the run's verdict. */
function writePrediction(file: string, pred: { instance_id: string; model_name_or_path: string; model_patch: string }, traj: Trajectory, log: (l: string) => void): void {
  try {
    appendPrediction(file, pred);
    log(`prediction appended to ${file}`);
    traj.write({ type: 'prediction', file, ok: true });
  } catch (err) {
    const why = errorMessage(err);
    log(`prediction not written: ${why}`);
    traj.write({ type: 'prediction', file, ok: false, error: why });
  }
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
async function verify(env: StageEnv, prep: Prepared, tools: Toolbox, task: Task, result: RunResult, cfg: HarnessConfig, log: (l: string) => void): Promise<'done' | 'fresh'> {
  const last = tools.lastDeciding;
  if (last && last.version === tools.version && last.summary.status === 'passed') {
    log("[verify] the deciding tests passed in the model's last run and nothing changed since");
    decide(result, forResult(last.summary, cfg));
    return 'done';
  }
  if (task.install && !tools.installed && prep.network && !env.container.networked) return 'fresh';
  /** Record a stage of the verification; false (with the run's status set) when it did not succeed. */
  const ok = (run: StageRun): boolean => {
    result.stages.push(run.record);
    const st = run.record.status;
    if (st === 'ok') return true;
    result.status = st === 'timeout' ? 'timeout' : st === 'interrupted' ? 'interrupted' : 'error';
    if (st === 'timeout') result.timeout_stage = run.record.name;
    result.error = `verification: ${run.message}`;
    result.tail = run.tail;
    return false;
  };
  if (!tools.cloned) {
    const c = await clone(env, prep.cloneSource, task.ref, cfg.timeouts.clone);
    result.head = c.head;
    if (!ok(c)) return 'done';
  }
  if (task.install && !tools.installed && !ok(await install(env, task.install, cfg.timeouts.install))) return 'done';
  await disconnectNetwork(env.container);
  const run = await runPytest(env, 'tests_after', tools.deciding, cfg.timeouts.test);
  result.after = run.summary;
  // Failing tests are the verdict; only a timeout or Ctrl-C stops here.
  if (run.record.status === 'timeout' || run.record.status === 'interrupted') {
    ok(run);
    return 'done';
  }
  result.stages.push(run.record);
  log(`[verify] ${run.summary.status}: ${run.summary.counts.passed} passed, ${run.summary.counts.failed} failed, ${run.summary.counts.errors} errors`);
  decide(result, run.summary);
  return 'done';
}

function decide(result: RunResult, after: TestSummary): void {
  result.after = after;
  result.tail = after.tail;
  result.status = after.status === 'passed' ? 'passed' : 'failed';
}

/** Tell a router the program is done: POST {"program_id"} (best effort; failures are logged). */
async function release(url: string, programId: unknown, timeoutS: number, log: (l: string) => void, traj: Trajectory): Promise<void> {
  let outcome: string;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ program_id: programId }),
      signal: AbortSignal.timeout(timeoutS * 1000),
    });
    outcome = res.ok ? `ok (HTTP ${res.status})` : `HTTP ${res.status}`;
  } catch (err) {
    outcome = `failed: ${errorMessage(err)}`;
  }
  if (!outcome.startsWith('ok')) log(`release ${url}: ${outcome}`);
  traj.write({ type: 'release', url, program_id: programId, outcome });
}
