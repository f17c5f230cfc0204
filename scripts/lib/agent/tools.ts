/**
 * The runner agent's tools: their schemas and their dispatch. The four swe_*
 * tools call the stage functions of stages.ts — the very code run-one runs,
 * with the same timeouts and guardrails. The file tools and run_command run
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
import { disconnectNetwork, docker, execIn } from '../engine/docker.js';
import { errorMessage } from '../core/errors.js';
import type { Prepared } from '../run/sandbox.js';
import { applyPatch, clone, install, runPytest, type StageEnv, type StageRun } from '../run/stages.js';
import type { StageRecord, Task, TestSummary } from '../core/types.js';
import { truncate, type Prompts } from './prompts.js';

interface Property {
  type: 'string' | 'integer' | 'array';
  items?: { type: 'string' };
  description: string;
}

interface ObjectSchema {
  type: 'object';
  properties: Record<string, Property>;
  required: string[];
  additionalProperties: false;
}

function schema(properties: Record<string, Property>, required: string[] = []): ObjectSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** Parameter schemas; the tools' descriptions come from prompts.md (`tool_<name>`). */
export const TOOL_SCHEMAS: Record<string, ObjectSchema> = {
  swe_clone: schema({}),
  swe_install: schema({}),
  swe_apply_patch: schema({ patch: { type: 'string', description: 'A unified diff (git diff format), paths relative to the repository root.' } }, ['patch']),
  swe_pytest: schema({
    tests: { type: 'array', items: { type: 'string' }, description: 'Test paths or node ids; default: the deciding tests.' },
    k: { type: 'string', description: 'A pytest -k expression; default: the deciding one.' },
  }),
  list_files: schema({
    path: { type: 'string', description: 'Directory relative to the repository root (default ".").' },
    depth: { type: 'integer', description: 'Levels to descend (default 2, at most 6).' },
  }),
  read_file: schema(
    {
      path: { type: 'string', description: 'File relative to the repository root.' },
      start_line: { type: 'integer', description: 'First line to show (default 1).' },
      end_line: { type: 'integer', description: 'Last line to show (default: as much as fits).' },
    },
    ['path'],
  ),
  run_command: schema({ command: { type: 'string', description: 'A bash command, run in the repository root.' } }, ['command']),
};

export const TOOL_NAMES = Object.keys(TOOL_SCHEMAS);

/** Why `value` does not fit `s`, worded to follow "the arguments of X", or null when it fits. */
export function validateArgs(s: ObjectSchema, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in s.properties)) return `have an unknown field "${key}"`;
  }
  for (const key of s.required) {
    if (obj[key] === undefined || obj[key] === null) return `lack the required field "${key}"`;
  }
  for (const [key, p] of Object.entries(s.properties)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const ok =
      p.type === 'string' ? typeof v === 'string'
      : p.type === 'integer' ? Number.isInteger(v)
      : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) return `have a field "${key}" that must be ${p.type === 'array' ? 'an array of strings' : `a ${p.type}`}, got ${JSON.stringify(v).slice(0, 60)}`;
  }
  return null;
}

/** `{"path": string (required), "depth": integer}`: the arguments in one line, for error messages and the text-mode tool list. */
export function argumentsHelp(s: ObjectSchema): string {
  const parts = Object.entries(s.properties).map(
    ([k, p]) => `"${k}": ${p.type === 'array' ? 'array of strings' : p.type}${s.required.includes(k) ? ' (required)' : ''}`,
  );
  return `{${parts.join(', ')}}`;
}

/** Arguments as a model sent them (a JSON string, an object, or nothing) → an object, or why not. */
export function parseArguments(raw: unknown): { ok: true; args: Record<string, unknown> } | { ok: false; reason: string } {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { ok: true, args: {} };
  let v: unknown = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch (err) {
      return { ok: false, reason: `are not valid JSON (${errorMessage(err)})` };
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'must be a JSON object' };
  return { ok: true, args: v as Record<string, unknown> };
}

export interface ToolContext {
  env: StageEnv;
  prep: Prepared;
  task: Task;
  timeouts: StageTimeouts;
  limits: AgentLimits;
  prompts: Prompts;
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

// Resolve a path inside the container and refuse anything outside the repository (symlinks included).
const RESOLVE = String.raw`
W="$1"; p="$2"
t=$(realpath -e -- "$p" 2>/dev/null) || { echo "@@NOPATH"; exit 2; }
case "$t" in "$W"|"$W"/*) ;; *) echo "@@OUTSIDE"; exit 3;; esac
rel=${'$'}{t#"$W"}; rel=${'$'}{rel#/}; [ -n "$rel" ] || rel=.
`;

const LIST_SCRIPT = `${RESOLVE}
d="$3"; max="$4"
cd "$W" || exit 1
if [ -f "$rel" ]; then echo "$rel"; exit 0; fi
out=$(find "$rel" -mindepth 1 -maxdepth "$d" -name .git -prune -o -type d -printf '%p/\\n' -o -printf '%p\\n' | sed 's|^\\./||' | LC_ALL=C sort)
n=$(printf '%s\\n' "$out" | grep -c .)
printf '%s\\n' "$out" | head -n "$max"
if [ "$n" -gt "$max" ]; then echo "@@MORE $n"; fi
`;

const READ_SCRIPT = `${RESOLVE}
s="$3"; e="$4"; max="$5"
[ -f "$t" ] || { echo "@@NOTFILE"; exit 4; }
if [ -s "$t" ] && ! grep -qI . "$t"; then echo "@@BINARY"; exit 5; fi
echo "@@LINES $(awk 'END { print NR }' "$t")"
awk -v s="$s" -v e="$e" -v max="$max" '
  NR < s { next }
  e > 0 && NR > e { exit }
  { line = sprintf("%6d  %s", NR, $0); len += length(line) + 1
    if (len > max && shown > 0) exit
    print line; shown++; last = NR }
  END { print "@@LAST " last + 0 }' "$t"
`;

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

  constructor(private readonly ctx: ToolContext) {}

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
  get deciding(): { k: string | null; tests: string[] } {
    return { k: this.ctx.task.pytest_k, tests: this.ctx.task.tests };
  }

  /** Run one tool call. Never throws for the model's mistakes; throws only when the harness cannot work. */
  async call(name: string, rawArgs: unknown): Promise<ToolOutcome> {
    const started = performance.now();
    const done = (output: string, ok: boolean, decidingPassed = false): ToolOutcome => ({
      output,
      ok,
      decidingPassed,
      duration_s: Math.round((performance.now() - started) / 10) / 100,
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
    if (name === 'swe_clone') return done(await this.clone(), true);
    if (!this.cloned) return done(prompts.fill('not_cloned'), false);
    if (name === 'swe_install') return done(await this.install(), true);
    // From here on the model's code, patches or commands run: never with the network.
    await disconnectNetwork(this.ctx.env.container);
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
    const run = await clone(env, prep.cloneSource, task.ref, timeouts.clone);
    this.stages.push(run.record);
    this.version++;
    this.cloned = run.record.status === 'ok';
    this.installed = false;
    if (run.head) this.head = run.head;
    return this.stageText(run);
  }

  private async install(): Promise<string> {
    const { env, task, timeouts } = this.ctx;
    if (!task.install) return this.ctx.prompts.fill('stage_result', { stage: 'install', status: 'skipped', duration: '0.00', message: ' — this task has no install command', output: '' });
    const run = await install(env, task.install, timeouts.install);
    this.stages.push(run.record);
    this.version++;
    if (run.record.status === 'ok') {
      this.installed = true;
      await disconnectNetwork(env.container);
    }
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
    const selection = { k: k ?? d.k, tests: tests ?? d.tests };
    const isDeciding = selection.k === d.k && selection.tests.join('\0') === d.tests.join('\0');
    const run = await runPytest(this.ctx.env, 'tests_after', selection, this.ctx.timeouts.test);
    this.stages.push(run.record);
    const sum = run.summary;
    if (isDeciding) {
      const rec = { version: this.version, summary: sum };
      this.firstDeciding ??= rec;
      this.lastDeciding = rec;
    }
    const failing = Object.entries(sum.tests).filter(([, st]) => st === 'FAILED' || st === 'ERROR');
    const c = sum.counts;
    const text = this.ctx.prompts.fill('pytest_result', {
      selection: isDeciding ? 'the deciding tests' : describeSelection(selection),
      status: sum.status,
      duration: run.record.duration_s.toFixed(2),
      counts: `${c.passed} passed, ${c.failed} failed, ${c.errors} errors, ${c.skipped} skipped`,
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
  private async exec(argv: string[]) {
    const { env, limits } = this.ctx;
    try {
      return await execIn(env.container, argv, {
        timeoutS: limits.commandTimeoutS,
        backstopS: env.cfg.backstopSeconds,
        logs: env.cfg.logs,
        logFile: null,
        cwd: env.cfg.workdir,
        user: limits.commandUser,
        env: { ...env.vars, HOME: '/tmp' },
        signal: env.signal,
      });
    } finally {
      if (!env.signal?.aborted) await this.killLeftovers();
    }
  }

  /**
   * Kill every process of the command user: kill(-1) run as that user reaches
   * only its own processes (and spares the caller). Nothing of the harness
   * runs between tool calls, so this also holds for a root command user, whose
   * kill(-1) spares PID 1. Best effort: a failure here is not the model's.
   */
  private async killLeftovers(): Promise<void> {
    const { env, limits } = this.ctx;
    await docker(['exec', '-u', limits.commandUser, env.container.id, 'sh', '-c', 'kill -9 -1 2>/dev/null; exit 0'], { timeoutMs: 30_000 }).catch(() => {});
  }

  private pathProblem(p: string, output: string): string | null {
    if (/^@@NOPATH$/m.test(output)) return `Error: "${p}" does not exist in the repository.`;
    if (/^@@OUTSIDE$/m.test(output)) return `Error: "${p}" is outside the repository.`;
    if (/^@@NOTFILE$/m.test(output)) return `Error: "${p}" is not a file (use list_files for directories).`;
    if (/^@@BINARY$/m.test(output)) return `Error: "${p}" is a binary file.`;
    return null;
  }

  private async listFiles(p: string, depth: number): Promise<string> {
    const refused = refusePath(p);
    if (refused) return refused;
    const r = await this.exec(['bash', '-c', LIST_SCRIPT, 'list', this.ctx.env.cfg.workdir, p, String(Math.min(Math.max(depth, 1), 6)), String(this.ctx.limits.listMaxEntries)]);
    if (r.timedOut) return `Error: listing "${p}" took longer than ${this.ctx.limits.commandTimeoutS}s.`;
    const problem = this.pathProblem(p, r.output);
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
    const problem = this.pathProblem(p, r.output);
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
    const r = await this.exec(['bash', '-c', command]);
    const cutBefore = r.bytes > Buffer.byteLength(r.output) ? ` (only the last ${Buffer.byteLength(r.output)} of ${r.bytes} bytes of output were kept)` : '';
    const note = r.timedOut ? ` (killed after the ${this.ctx.limits.commandTimeoutS}s time limit)` : r.interrupted ? ' (interrupted)' : '';
    return this.cap(this.ctx.prompts.fill('command_result', { exit_code: r.exitCode ?? 'none', note: note + cutBefore, output: r.output.trimEnd() }), 'both');
  }
}

/** A path the file tools refuse before asking the container: absolute, `..`, or a leading `-`. */
export function refusePath(p: string): string | null {
  if (p.startsWith('/')) return `Error: "${p}" is absolute; give a path relative to the repository root.`;
  if (p.split('/').includes('..')) return `Error: "${p}" contains ".."; give a path inside the repository.`;
  if (p.startsWith('-')) return `Error: "${p}" is not a path.`;
  if (/[\0\n]/.test(p)) return 'Error: the path contains control characters.';
  return null;
}

function describeSelection(sel: { k: string | null; tests: string[] }): string {
  const parts = [...(sel.tests.length ? [sel.tests.join(' ')] : ['all tests']), ...(sel.k ? [`-k ${JSON.stringify(sel.k)}`] : [])];
  return parts.join(' ');
}
