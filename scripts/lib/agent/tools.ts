/**
 * The runner agent's tools and their dispatch. The four swe_* tools call the
 * stage functions of run/ — the very code run-one runs, with the same timeouts
 * and guardrails. The file tools and run_command run
 * in the repository as an unprivileged user (the repository is read-only to
 * it) under `timeout -s KILL`, offline, with the task's environment and
 * output cut to size; whatever they leave running is killed when they return.
 *
 * Nothing here throws for what the model does: bad arguments, unknown tools,
 * rejected patches and timeouts all come back as observations. Only the
 * harness failing (engine gone) throws.
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { AgentLimits, StageTimeouts } from '../core/config.js';
import { disconnectNetwork, execIn, killAllProcesses } from '../engine/docker.js';
import type { Prepared } from '../run/sandbox.js';
import { applyPatch } from '../run/apply.js';
import { clone, install, runTests, type StageEnv, type StageRun } from '../run/stages.js';
import { cachedStages, type SnapshotSession } from '../run/snapshot.js';
import { isInstanceTask } from '../task/instances.js';
import { countsLine, runnerForTask, type TestRunner, type TestSelection } from '../testing/runner.js';
import type { StageRecord, Task, TestSummary } from '../core/types.js';
import { durationS } from '../core/values.js';
import { LIST_SCRIPT, READ_SCRIPT, pathProblem, refusePath } from './file-scripts.js';
import { truncate, type Prompts } from './prompts.js';
import { TOOL_NAMES, TOOL_SCHEMAS, argumentsHelp, parseArguments, validateArgs } from './schemas.js';

export interface ToolContext {
  env: StageEnv;
  prep: Prepared;
  task: Task;
  timeouts: StageTimeouts;
  limits: AgentLimits;
  prompts: Prompts;
  /** The run's snapshot: the one it started from (clone and install are then `cached`), or the claim to keep one. */
  snapshot?: SnapshotSession | null;
}

export interface ToolOutcome {
  /** What the model sees. */
  output: string;
  /** False for errors in the call itself (bad arguments, unknown tool, not cloned). */
  ok: boolean;
  /** The deciding tests ran and passed. */
  decidingPassed: boolean;
  duration_s: number;
}

export interface PytestRecord {
  /** Toolbox version when it ran: the tree has not changed while the version is the same. */
  version: number;
  summary: TestSummary;
}

/** Run the script that arrives on stdin, with stdin then closed for it (as `bash -c` would have it). */
const RUN_FROM_STDIN = 'f=$(mktemp) || exit 125; cat > "$f"; bash "$f" </dev/null; rc=$?; rm -f "$f"; exit $rc';

export class Toolbox {
  /** Stage records of every stage a tool ran, in order (the result's `stages`). */
  readonly stages: StageRecord[] = [];
  cloned = false;
  head: string | null = null;
  installed = false;
  /** Bumped by every call that may change the tree or the environment. */
  version = 0;
  /** The first and the last run of the deciding tests. */
  firstDeciding: PytestRecord | null = null;
  lastDeciding: PytestRecord | null = null;

  /** How this task's tests run and are read (pytest, or the instance repository's runner). */
  readonly runner: TestRunner;

  /** Nothing but clone (and install) has changed the checkout yet: its state may become a snapshot. */
  private pristine = false;

  constructor(private readonly ctx: ToolContext) {
    this.runner = runnerForTask(ctx.task);
    const hit = ctx.snapshot?.hit;
    if (hit) {
      // Started from a snapshot: cloned and installed already, as the stages say.
      this.cloned = true;
      this.installed = true;
      this.head = hit.head;
      for (const run of cachedStages(hit, Boolean(ctx.task.install))) this.stages.push(run.record);
    }
  }

  get prompts(): Prompts {
    return this.ctx.prompts;
  }

  get workdir(): string {
    return this.ctx.env.cfg.workdir;
  }

  /** Declarations for the Chat Completions `tools` parameter. */
  declarations(): ChatCompletionTool[] {
    return TOOL_NAMES.map((name) => ({
      type: 'function' as const,
      function: { name, description: this.ctx.prompts.fill(`tool_${name}`).replace(/\s*\n\s*/g, ' '), parameters: TOOL_SCHEMAS[name] as unknown as Record<string, unknown> },
    }));
  }

  /** The tools as a text list (the no-tool-calls prompt and the unknown-tool message). */
  listing(): string {
    return TOOL_NAMES.map((name) =>
      this.ctx.prompts.fill('tool_list_entry', {
        name,
        description: this.ctx.prompts.fill(`tool_${name}`).replace(/\s*\n\s*/g, ' '),
        arguments: argumentsHelp(TOOL_SCHEMAS[name]!),
      }),
    ).join('\n');
  }

  /** The deciding selection: the task's -k and tests. */
  get deciding(): TestSelection {
    const { task } = this.ctx;
    return { k: task.pytest_k, tests: task.tests, command: isInstanceTask(task) ? task.test_cmd : null };
  }

  /** Run one tool call. Never throws for the model's mistakes; throws only when the harness cannot work. */
  async call(name: string, rawArgs: unknown): Promise<ToolOutcome> {
    const started = performance.now();
    const done = (output: string, ok: boolean, decidingPassed = false): ToolOutcome => ({
      output,
      ok,
      decidingPassed,
      duration_s: durationS(started),
    });
    const { prompts } = this.ctx;
    const s = TOOL_SCHEMAS[name];
    if (!s) return done(prompts.fill('unknown_tool', { name, tools: TOOL_NAMES.join(', ') }), false);
    const parsed = parseArguments(rawArgs);
    const reason = parsed.ok ? validateArgs(s, parsed.args) : parsed.reason;
    if (reason !== null || !parsed.ok) {
      return done(prompts.fill('bad_arguments', { name, reason: reason ?? 'are invalid', arguments: argumentsHelp(s) }), false);
    }
    const args = parsed.args;
    const tooLarge = oversized(name, args);
    if (tooLarge) return done(prompts.fill('bad_arguments', { name, reason: tooLarge, arguments: argumentsHelp(s) }), false);
    if (name === 'swe_clone') return done(await this.clone(), true);
    if (!this.cloned) return done(prompts.fill('not_cloned'), false);
    if (name === 'swe_install') return done(await this.install(), true);
    // From here on the model's code, patches or commands run: never with the network.
    await disconnectNetwork(this.ctx.env.container);
    if (name === 'swe_apply_patch' || name === 'swe_pytest') this.pristine = false;
    switch (name) {
      case 'swe_apply_patch':
        return done(await this.applyPatch(args.patch as string), true);
      case 'swe_pytest': {
        const r = await this.pytest(args.tests as string[] | undefined, args.k as string | undefined);
        return done(r.output, true, r.decidingPassed);
      }
      case 'list_files':
        return done(await this.listFiles((args.path as string | undefined) ?? '.', (args.depth as number | undefined) ?? 2), true);
      case 'read_file':
        return done(await this.readFile(args.path as string, args.start_line as number | undefined, args.end_line as number | undefined), true);
      default:
        return done(await this.runCommand(args.command as string), true);
    }
  }

  private cap(text: string, keep: 'head' | 'tail' | 'both'): string {
    return truncate(this.ctx.prompts, text, this.ctx.limits.observationChars, keep);
  }

  private stageText(run: StageRun): string {
    const r = run.record;
    return this.ctx.prompts.fill('stage_result', {
      stage: r.name,
      status: r.status,
      duration: r.duration_s.toFixed(2),
      message: run.message ? ` — ${run.message}` : '',
      output: this.cap(run.tail, 'tail'),
    });
  }

  private async clone(): Promise<string> {
    const { env, prep, task, timeouts } = this.ctx;
    // A remote repository cannot be fetched again once the network is off: refuse before the old checkout is wiped.
    if (prep.network && !env.container.networked && prep.source.kind === 'remote') {
      return this.ctx.prompts.fill('stage_result', { stage: 'clone', status: 'refused', duration: '0.00', message: ' — the network is off now (patches, tests or commands have run), so the repository cannot be fetched again; your checkout is unchanged', output: '' });
    }
    const hit = this.ctx.snapshot?.hit;
    if (hit) {
      // The checkout came with the snapshot; with no mount and no network there is nothing to clone from.
      const message = this.version === 0 ? ` — the checkout (${hit.head}) and its install came from snapshot ${hit.name}; nothing to do` : ' — the checkout came from a snapshot and cannot be cloned again; undo your changes with swe_apply_patch (a reverse patch)';
      return this.ctx.prompts.fill('stage_result', { stage: 'clone', status: this.version === 0 ? 'cached' : 'refused', duration: '0.00', message, output: '' });
    }
    const run = await clone(env, prep.cloneSource, task.ref, timeouts.clone);
    this.stages.push(run.record);
    this.version++;
    this.cloned = run.record.status === 'ok';
    this.installed = false;
    this.pristine = this.cloned;
    if (run.head) this.head = run.head;
    // A task without install: the fresh checkout is the snapshot.
    if (this.pristine && !task.install) await this.ctx.snapshot?.save(env, run.head);
    return this.stageText(run);
  }

  private async install(): Promise<string> {
    const { env, task, timeouts } = this.ctx;
    if (!task.install) return this.ctx.prompts.fill('stage_result', { stage: 'install', status: 'skipped', duration: '0.00', message: ' — this task has no install command', output: '' });
    const hit = this.ctx.snapshot?.hit;
    if (hit && this.version === 0) return this.ctx.prompts.fill('stage_result', { stage: 'install', status: 'cached', duration: '0.00', message: ` — installed in snapshot ${hit.name}; nothing to do`, output: '' });
    const run = await install(env, task.install, timeouts.install);
    this.stages.push(run.record);
    this.version++;
    if (run.record.status === 'ok') {
      this.installed = true;
      // Kept before any patch or test touches the checkout (a snapshot never holds either).
      if (this.pristine) await this.ctx.snapshot?.save(env, this.head);
      await disconnectNetwork(env.container);
    }
    this.pristine = false;
    return this.stageText(run);
  }

  private async applyPatch(patch: string): Promise<string> {
    const run = await applyPatch(this.ctx.env, patch);
    if (run.outcome !== 'rejected') {
      this.stages.push(run.record);
      this.version++;
    }
    const outcome = run.outcome === 'applied' ? `Patch applied with ${run.applied_with} to: ${run.files.join(', ')}` : `Patch not applied: ${run.message}`;
    return this.ctx.prompts.fill('patch_result', { outcome, output: run.outcome === 'applied' ? '' : this.cap(run.tail, 'tail') }).trimEnd();
  }

  private async pytest(tests: string[] | undefined, k: string | undefined): Promise<{ output: string; decidingPassed: boolean }> {
    const bad = (tests ?? []).find((t) => t.startsWith('-') || t.trim() === '');
    if (bad !== undefined) {
      return { output: this.ctx.prompts.fill('bad_arguments', { name: 'swe_pytest', reason: `have a test "${bad}" that is not a path or node id`, arguments: argumentsHelp(TOOL_SCHEMAS.swe_pytest!) }), decidingPassed: false };
    }
    const d = this.deciding;
    const selection = { k: k ?? d.k, tests: tests ?? d.tests, command: d.command };
    const isDeciding = selection.k === d.k && selection.tests.join('\0') === d.tests.join('\0');
    const run = await runTests(this.ctx.env, 'tests_after', selection, this.ctx.timeouts.test, this.runner);
    this.stages.push(run.record);
    const sum = run.summary;
    if (isDeciding) {
      const rec = { version: this.version, summary: sum };
      this.firstDeciding ??= rec;
      this.lastDeciding = rec;
    }
    const failing = Object.entries(sum.tests).filter(([, st]) => st === 'FAILED' || st === 'ERROR');
    const text = this.ctx.prompts.fill('pytest_result', {
      selection: isDeciding ? 'the deciding tests' : describeSelection(selection),
      status: sum.status,
      duration: run.record.duration_s.toFixed(2),
      counts: countsLine(sum),
      note: sum.note ? ` (${sum.note})` : '',
      failing: failing.length ? truncate(this.ctx.prompts, `Failing: ${failing.map(([id, st]) => `${id} ${st}`).join('; ')}`, 2000, 'head') : '',
      output: this.cap(run.tail, 'tail'),
    });
    return { output: text, decidingPassed: isDeciding && sum.status === 'passed' };
  }

  /**
   * A short command as the unprivileged user, in the repository, with the
   * task's environment (a spec's PYTHONPATH=src and the like). Whatever it
   * left running (`cmd &`, `nohup`, `setsid -f`: outside the process group
   * the time limit kills) is killed when it returns.
   */
  private async exec(argv: string[], input?: string) {
    const { env, limits } = this.ctx;
    try {
      return await execIn(env.container, argv, {
        timeoutS: limits.commandTimeoutS,
        backstopS: env.cfg.backstopSeconds,
        logs: env.cfg.logs,
        logFile: null,
        cwd: env.cfg.workdir,
        user: limits.commandUser,
        input,
        env: { ...env.vars, HOME: '/tmp' },
        signal: env.signal,
      });
    } finally {
      // Nothing of the harness runs between tool calls: everything but the container's own
      // init and main script is the command's leftovers. The kill needs no new process in
      // the container, so a fork bomb that filled its pids limit dies too.
      if (!env.signal?.aborted) await killAllProcesses(env.container).catch(() => {});
    }
  }

  private async listFiles(p: string, depth: number): Promise<string> {
    const refused = refusePath(p);
    if (refused) return refused;
    const r = await this.exec(['bash', '-c', LIST_SCRIPT, 'list', this.ctx.env.cfg.workdir, p, String(Math.min(Math.max(depth, 1), 6)), String(this.ctx.limits.listMaxEntries)]);
    if (r.timedOut) return `Error: listing "${p}" took longer than ${this.ctx.limits.commandTimeoutS}s.`;
    const problem = pathProblem(p, r.output);
    if (problem) return problem;
    const more = /^@@MORE (\d+)$/m.exec(r.output);
    let text = r.output.replace(/^@@MORE \d+\n?/m, '').trimEnd() || '(empty directory)';
    if (more) text += `\n[... ${Number(more[1]) - this.ctx.limits.listMaxEntries} more entries not shown; list a subdirectory or use a smaller depth ...]`;
    return this.cap(text, 'head');
  }

  private async readFile(p: string, start: number | undefined, end: number | undefined): Promise<string> {
    const refused = refusePath(p);
    if (refused) return refused;
    const s = Math.max(start ?? 1, 1);
    const e = end !== undefined && end > 0 ? end : 0;
    const max = this.ctx.limits.observationChars;
    const r = await this.exec(['bash', '-c', READ_SCRIPT, 'read', this.ctx.env.cfg.workdir, p, String(s), String(e), String(max)]);
    if (r.timedOut) return `Error: reading "${p}" took longer than ${this.ctx.limits.commandTimeoutS}s.`;
    const problem = pathProblem(p, r.output);
    if (problem) return problem;
    const lines = r.output.split('\n');
    const total = Number(/^@@LINES (\d+)$/.exec(lines[0] ?? '')?.[1] ?? 0);
    let lastIdx = lines.length - 1;
    while (lastIdx > 0 && lines[lastIdx] === '') lastIdx--;
    const lastMatch = /^@@LAST (\d+)$/.exec(lines[lastIdx] ?? '');
    if (!lastMatch) return this.cap(`Error: could not read "${p}" (exit ${r.exitCode ?? 'none'}): ${r.output.replace(/^@@LINES \d+\n/, '').trim()}`, 'head');
    const last = Number(lastMatch[1]);
    let text = lines.slice(1, lastIdx).join('\n');
    if (last === 0) return `"${p}" has ${total} lines; nothing to show from line ${s}.`;
    const wanted = e > 0 ? Math.min(e, total) : total;
    if (last < wanted) {
      text = this.cap(text, 'head');
      text += `\n[... output cut: lines ${s}-${last} of ${total} shown; call read_file with start_line=${last + 1} to read on ...]`;
      return text;
    }
    return this.cap(text, 'head');
  }

  private async runCommand(command: string): Promise<string> {
    // The command goes in by stdin, into a file: an argument of any size would hit the
    // kernel's per-argument limit (E2BIG) on its way through argv.
    const r = await this.exec(['bash', '-c', RUN_FROM_STDIN], command);
    const cutBefore = r.bytes > Buffer.byteLength(r.output) ? ` (only the last ${Buffer.byteLength(r.output)} of ${r.bytes} bytes of output were kept)` : '';
    const note = r.timedOut ? ` (killed after the ${this.ctx.limits.commandTimeoutS}s time limit)` : r.interrupted ? ' (interrupted)' : '';
    return this.cap(this.ctx.prompts.fill('command_result', { exit_code: r.exitCode ?? 'none', note: note + cutBefore, output: r.output.trimEnd() }), 'both');
  }
}

/**
 * Arguments that go through argv (paths, tests, -k) stay far below the
 * kernel's per-argument limit; the patch and the command go in by stdin and
 * are bounded by the patch guardrails and this cap. Null when all fit.
 */
function oversized(name: string, args: Record<string, unknown>): string | null {
  const viaStdin = name === 'swe_apply_patch' || name === 'run_command';
  const limit = viaStdin ? MAX_STDIN_ARG_BYTES : MAX_ARGV_ARG_BYTES;
  for (const [key, v] of Object.entries(args)) {
    const bytes = Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v ?? null));
    if (bytes > limit) return `have a field "${key}" of ${bytes} bytes; at most ${limit} bytes are accepted`;
  }
  return null;
}

/** Arguments passed on a command line (the kernel refuses one over 128 KiB). */
const MAX_ARGV_ARG_BYTES = 16 * 1024;
/** Arguments sent as stdin. */
const MAX_STDIN_ARG_BYTES = 8 * 1024 * 1024;

function describeSelection(sel: { k: string | null; tests: string[] }): string {
  const parts = [...(sel.tests.length ? [sel.tests.join(' ')] : ['all tests']), ...(sel.k ? [`-k ${JSON.stringify(sel.k)}`] : [])];
  return parts.join(' ');
}
