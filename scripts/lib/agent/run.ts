/**
 * One runner-agent run of one task: the container run-one would use, the
 * agent loop with the stages as tools, the model's patch as patch.diff, the
 * verdict by the harness itself (verify.ts), and the same result.json as
 * run-one plus model, turns, usage and stop_reason. Whatever happens the
 * result and the trajectory are written and the container is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_DEFAULTS, type AgentLimits, type HarnessConfig, type StageTimeouts } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import type { Task } from '../core/types.js';
import { appendPrediction } from '../task/predictions.js';
import { cacheKey, effectiveTimeouts, newRunId } from '../run/keys.js';
import { RunRecorder, type RunOutcome } from '../run/outcome.js';
import { prepare, startContainer, stopContainer, type Prepared } from '../run/sandbox.js';
import { fromSnapshot, openSnapshot, type SnapshotSession } from '../run/snapshot.js';
import type { StageEnv } from '../run/stages.js';
import { agentLoop, type LoopResult, type StopReason } from './loop.js';
import { agentMode } from './mode.js';
import { savePatch } from './model-patch.js';
import { ModelClient, type ModelSettings } from './model.js';
import { Prompts } from './prompts.js';
import { instancePrompt } from './task-prompt.js';
import { Toolbox } from './tools.js';
import { Trajectory } from './trajectory.js';
import { evaluate, forResult, grade, verify } from './verify.js';

export { agentMode } from './mode.js';
export { instancePrompt } from './task-prompt.js';

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

const PROVIDER_STOPS: ReadonlySet<StopReason> = new Set(['auth_error', 'context_length', 'provider_error']);

export async function runAgent(task: Task, opts: AgentRunOptions): Promise<RunOutcome> {
  const run = new AgentRun(task, opts);
  try {
    const { env, prep, tools } = await run.start();
    const loop = await runLoop(task, tools, run.model, run.traj, run.limits, run.toolCalls, !run.rec.inst, opts, run.log);
    return await run.settle(loop, env, prep, tools);
  } catch (err) {
    run.rec.result.stop_reason = opts.signal?.aborted ? 'interrupted' : 'harness_error';
    return run.rec.fail(err);
  } finally {
    await run.close();
  }
}

/** One agent run's state: its ids, model client, recorder, trajectory and container. */
class AgentRun {
  readonly log: (line: string) => void;
  readonly limits: AgentLimits;
  readonly toolCalls: boolean;
  readonly runId: string;
  readonly runDir: string;
  readonly timeouts: StageTimeouts;
  readonly programId: unknown;
  readonly model: ModelClient;
  readonly rec: RunRecorder;
  readonly traj: Trajectory;
  private containerRequested = false;
  private snapshot: SnapshotSession | null = null;

  constructor(
    private readonly task: Task,
    private readonly opts: AgentRunOptions,
  ) {
    this.log = opts.log ?? (() => {});
    this.limits = { ...AGENT_DEFAULTS, ...opts.limits };
    this.toolCalls = opts.toolCalls ?? true;
    this.runId = newRunId(task.task_id);
    this.runDir = path.join(opts.cfg.runsDir, this.runId);
    fs.mkdirSync(this.runDir, { recursive: true });
    this.timeouts = effectiveTimeouts(opts.cfg, task, opts.timeouts);
    const programId = (this.programId = programIdOf(opts, this.runId));
    const extraBody = { ...opts.model.extraBody, ...(programId !== null ? { program_id: programId } : {}) };
    const model = (this.model = new ModelClient({ ...opts.model, extraBody }, this.limits));
    this.rec = new RunRecorder(task, {
      runDir: this.runDir,
      signal: opts.signal,
      beforeWrite: (r, aborted) => {
        if (aborted) r.stop_reason = 'interrupted';
        r.usage = { ...model.usage };
      },
    }, { model: model.model, turns: 0, usage: model.usage, stop_reason: 'harness_error' });
    this.traj = new Trajectory(path.join(this.runDir, 'trajectory.jsonl'));
    this.traj.write({
      type: 'start', run_id: this.runId, task_id: task.task_id, repo: task.repo, ref: task.ref, model: model.model,
      base_url: opts.model.baseURL, tool_calls: this.toolCalls, program_id: this.programId, timeouts: this.timeouts, limits: this.limits,
    });
  }

  /** Image, repository and container; the toolbox over the run's stages. */
  async start() {
    const { task, opts, rec, limits } = this;
    const prep = await prepare(task, opts.cfg, opts.image ?? null, undefined, opts.signal);
    rec.result.image = { name: prep.image.name, python: prep.image.python, flavour: prep.image.flavour };
    rec.result.cache_key = cacheKey(task, prep.image, null, this.timeouts, agentMode(opts.model, limits, this.toolCalls));
    this.log(`image ${prep.image.name} (python ${prep.image.python}, ${prep.image.flavour}); model ${this.model.model} at ${opts.model.baseURL}`);
    // An earlier run's installed environment: the model starts with the checkout installed.
    this.snapshot = await openSnapshot(task, prep, opts.cfg, this.log);
    if (this.snapshot?.hit) this.log(`snapshot ${this.snapshot.hit.name}: clone and install cached`);
    this.containerRequested = true;
    // The container's dead-man's switch must outlive the whole agent run.
    const env = await startContainer(this.snapshot?.hit ? fromSnapshot(prep, this.snapshot.hit, opts.cfg.workdir) : prep, {
      cfg: opts.cfg, timeouts: this.timeouts, runId: this.runId, runDir: this.runDir, signal: opts.signal, vars: rec.inst?.env, extraTtlS: limits.timeLimitS + 300,
    });
    // Tools show the model more of a stage's output than the result keeps.
    const toolEnv: StageEnv = { ...env, cfg: { ...env.cfg, logs: { ...env.cfg.logs, tailLines: limits.observationLines } } };
    const tools = new Toolbox({ env: toolEnv, prep, task, timeouts: this.timeouts, limits, prompts: Prompts.load(), snapshot: this.snapshot });
    rec.result.stages = tools.stages;
    return { env, prep, tools };
  }

  /**
   * After the loop: the model's patch (and its prediction), then the verdict —
   * an infrastructure stop for the provider's stops, the harness's own run of
   * the deciding tests otherwise (in a fresh container for instances).
   */
  async settle(loop: LoopResult, env: StageEnv, prep: Prepared, tools: Toolbox): Promise<RunOutcome> {
    const { rec, opts, task, log } = this;
    const { result, inst } = rec;
    result.turns = loop.turns;
    result.stop_reason = loop.stop_reason;
    result.head = tools.head;
    if (loop.stop_reason === 'interrupted') {
      result.status = 'interrupted';
      return rec.finish();
    }
    const diff = await savePatch(env.container, tools, result, this.runDir, env.cfg);
    // Every finished run gets its prediction, provider stops included (as
    // mini-swe-agent writes every instance); only an interrupted run has none.
    if (opts.predsFile) writePrediction(opts.predsFile, { instance_id: task.task_id, model_name_or_path: this.model.model, model_patch: diff.text }, this.traj, log);
    if (PROVIDER_STOPS.has(loop.stop_reason)) {
      // The provider ended the run: an infrastructure stop, not a verdict on the model.
      result.status = 'error';
      result.error = `${loop.stop_reason}: ${loop.error ?? 'the provider ended the run'}`;
      return rec.finish();
    }
    if (tools.firstDeciding) result.before = forResult(tools.firstDeciding.summary, env.cfg);
    const fresh = { ...opts, cfg: { ...opts.cfg, runsDir: path.join(this.runDir, 'eval') } };
    if (inst) {
      await this.removeContainer();
      await evaluate(inst, diff, result, fresh, log);
    } else if ((await verify(env, prep, tools, task, rec, log)) === 'fresh') {
      await this.removeContainer();
      log("[verify] the network is off here and the install needs it: grading the model's patch in a fresh container");
      await grade(task, diff, result, fresh, log, 'verify');
    }
    return rec.finish();
  }

  private async removeContainer(): Promise<void> {
    await this.snapshot?.release();
    if (this.containerRequested) await stopContainer(this.runId);
    this.containerRequested = false;
  }

  /** Whatever happened: the container goes, the router hears, the trajectory ends. */
  async close(): Promise<void> {
    await this.removeContainer();
    const { opts, programId, limits, traj } = this;
    const r = this.rec.result;
    if (opts.releaseUrl && programId !== null) await release(opts.releaseUrl, programId, limits.releaseTimeoutS, this.log, traj);
    traj.write({ type: 'end', status: r.status, stop_reason: r.stop_reason, turns: r.turns, usage: r.usage, exit_code: r.exit_code, error: r.error });
  }
}

/** `program_id` for every request: the flag's value, the run id (flag without value, or a release URL), or the extra body's. */
function programIdOf(opts: AgentRunOptions, runId: string): unknown {
  const id = opts.programId === true ? runId : opts.programId ?? opts.model.extraBody.program_id ?? null;
  return id === null && opts.releaseUrl ? runId : id;
}

/** The agent loop over the toolbox, with the prompts for this task. */
async function runLoop(
  task: Task, tools: Toolbox, model: ModelClient, traj: Trajectory, limits: AgentLimits, toolCalls: boolean,
  stopWhenDecidingPass: boolean, opts: AgentRunOptions, log: (l: string) => void,
): Promise<LoopResult> {
  const prompts = tools.prompts;
  const system = prompts.fill('system', { workdir: tools.workdir }) + (toolCalls ? '' : `\n\n${prompts.fill('no_tool_calls', { tools: tools.listing() })}`);
  const loop = await agentLoop({
    model, tools, prompts, traj, system, instance: instancePrompt(prompts, task, limits.maxTurns), toolCalls,
    maxTurns: limits.maxTurns, maxTokensTotal: limits.maxTokensTotal, timeLimitS: limits.timeLimitS, repeatLimit: limits.repeatLimit,
    // An instance's deciding tests are hidden: passing the visible ones proves nothing.
    stopWhenDecidingPass,
    signal: opts.signal, log,
  });
  log(`agent stopped: ${loop.stop_reason} after ${loop.turns} turn(s), ${model.usage.total_tokens} tokens`);
  return loop;
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
