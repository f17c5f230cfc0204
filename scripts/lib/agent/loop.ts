/**
 * The runner agent's loop, linear: query the model → parse its action(s) →
 * execute them as tools → send the observations back, until a stop reason.
 * Every step is appended to the trajectory before the next one starts.
 */
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { CallAborted, ProviderStop, type ModelClient, type RetryRecord } from './model.js';
import type { Prompts } from './prompts.js';
import type { ToolOutcome, Toolbox } from './tools.js';
import type { Trajectory } from './trajectory.js';

export const STOP_REASONS = [
  'tests_passed', 'model_stopped', 'max_turns', 'repeated_action', 'time_limit', 'token_limit',
  'auth_error', 'context_length', 'provider_error', 'interrupted', 'harness_error',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface LoopOptions {
  model: ModelClient;
  tools: Toolbox;
  prompts: Prompts;
  traj: Trajectory;
  system: string;
  instance: string;
  /** false: actions are fenced ```action blocks in the content (--no-tool-calls). */
  toolCalls: boolean;
  maxTurns: number;
  maxTokensTotal: number | null;
  timeLimitS: number;
  repeatLimit: number;
  /** Stop as soon as the deciding tests pass (false for SWE-bench instances, whose deciding tests are hidden). */
  stopWhenDecidingPass?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface LoopResult {
  stop_reason: StopReason;
  turns: number;
  /** The provider's message when it ended the run. */
  error: string | null;
}

/** One action of a turn: a tool call, or a reply in text mode that could not be parsed. */
interface Action {
  id: string;
  name: string;
  args: unknown;
  formatError?: string;
}

/** The fenced ```action blocks of a text-mode reply. */
export function parseActionBlocks(content: string, turn: number): Action[] | null {
  const blocks = [...content.matchAll(/```action[ \t]*\r?\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  if (blocks.length === 0) return null;
  const id = `action_${turn}`;
  if (blocks.length > 1) return [{ id, name: '', args: null, formatError: `it has ${blocks.length} action blocks and only one is allowed` }];
  let v: unknown;
  try {
    v = JSON.parse(blocks[0]!);
  } catch (err) {
    return [{ id, name: '', args: null, formatError: `the action block is not valid JSON (${(err as Error).message})` }];
  }
  const o = v as { name?: unknown; arguments?: unknown };
  if (typeof v !== 'object' || v === null || typeof o.name !== 'string') {
    return [{ id, name: '', args: null, formatError: 'the action block needs a string "name"' }];
  }
  return [{ id, name: o.name, args: o.arguments ?? {} }];
}

function fromToolCalls(calls: ChatCompletionMessageToolCall[], turn: number): Action[] {
  return calls.map((c, i) => {
    const id = c.id || `call_${turn}_${i}`;
    return c.type === 'function' ? { id, name: c.function.name, args: c.function.arguments } : { id, name: c.custom?.name ?? c.type, args: null };
  });
}

/** A key equal for equal actions (arguments compared as parsed JSON when they parse). */
function actionKey(actions: Action[]): string {
  return JSON.stringify(actions.map((a) => {
    let args = a.args;
    if (typeof args === 'string') try { args = JSON.parse(args); } catch { /* compare the raw text */ }
    return [a.name, a.formatError ?? null, args];
  }));
}

/** A stop of the loop: thrown by any step, caught in one place. */
class Stop extends Error {
  constructor(
    readonly reason: StopReason,
    readonly detail: string | null = null,
  ) {
    super(reason);
  }
}

export async function agentLoop(o: LoopOptions): Promise<LoopResult> {
  const loop = new Loop(o);
  try {
    for (;;) await loop.step();
  } catch (err) {
    if (err instanceof Stop) return { stop_reason: err.reason, turns: loop.turns, error: err.detail };
    throw err;
  } finally {
    loop.close();
  }
}

type Step = { type: string } & Record<string, unknown>;

/** The loop's state and its steps: query → parse → execute → observe. */
class Loop {
  turns = 0;
  private readonly messages: ChatCompletionMessageParam[];
  private readonly deadline = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly signal: AbortSignal;
  private readonly declarations;
  private readonly log: (line: string) => void;
  private lastKey = '';
  private streak = 0;
  private warned = false;

  constructor(private readonly o: LoopOptions) {
    this.messages = [{ role: 'system', content: o.system }, { role: 'user', content: o.instance }];
    this.timer = setTimeout(() => this.deadline.abort(), Math.min(o.timeLimitS * 1000, 2 ** 31 - 1));
    this.signal = o.signal ? AbortSignal.any([o.signal, this.deadline.signal]) : this.deadline.signal;
    this.declarations = o.toolCalls ? o.tools.declarations() : null;
    this.log = o.log ?? (() => {});
  }

  close(): void {
    clearTimeout(this.timer);
  }

  async step(): Promise<void> {
    this.checkLimits();
    const turn = this.turns + 1;
    const step: Step = { type: 'step', turn, ...(turn === 1 ? { sent: this.messages.slice() } : {}) };
    const msg = await this.query(turn, step);
    const actions = this.o.toolCalls ? (msg.tool_calls?.length ? fromToolCalls(msg.tool_calls, turn) : null) : parseActionBlocks(msg.content ?? '', turn);
    if (!actions) {
      this.o.traj.write(step);
      this.log(`[turn ${turn}] the model answered without ${this.o.toolCalls ? 'a tool call' : 'an action block'}`);
      throw new Stop('model_stopped');
    }
    this.remember(msg, actions);
    const warning = this.repetition(actions, turn, step);
    const { calls, passed } = await this.execute(actions, warning, turn, step);
    this.o.traj.write({ ...step, calls, ...(warning ? { warning } : {}) });
    if (passed && this.o.stopWhenDecidingPass !== false) throw new Stop('tests_passed');
  }

  private halted(): StopReason | null {
    return this.o.signal?.aborted ? 'interrupted' : this.deadline.signal.aborted ? 'time_limit' : null;
  }

  private checkLimits(): void {
    const h = this.halted();
    if (h) throw new Stop(h);
    if (this.turns >= this.o.maxTurns) throw new Stop('max_turns');
    if (this.o.maxTokensTotal !== null && this.o.model.usage.total_tokens >= this.o.maxTokensTotal) throw new Stop('token_limit');
  }

  /** One model call (with its retries); a provider stop or an abort ends the loop. */
  private async query(turn: number, step: Step) {
    const { model } = this.o;
    const retries: RetryRecord[] = [];
    let completion;
    try {
      completion = await model.complete(this.messages, this.declarations, this.signal, (r) => {
        retries.push(r);
        this.log(`[turn ${turn}] model call failed (${r.error}); retry ${r.attempt} in ${r.wait_s}s (${r.wait_from})`);
      });
    } catch (err) {
      if (!(err instanceof CallAborted || err instanceof ProviderStop)) throw err;
      const reason: StopReason = err instanceof ProviderStop ? err.reason : (this.halted() ?? 'interrupted');
      this.o.traj.write({ ...step, retries, error: { stop_reason: reason, message: err.message, status: err instanceof ProviderStop ? err.status : null } });
      throw new Stop(reason, err instanceof ProviderStop ? err.message : null);
    }
    this.turns = turn;
    const msg = completion.message;
    Object.assign(step, { received: msg, finish_reason: completion.finish_reason, usage: completion.usage, usage_total: { ...model.usage }, retries, model_s: completion.duration_s });
    return msg;
  }

  /** The model's reply goes into the conversation as the server must see it again. */
  private remember(msg: { content?: string | null }, actions: Action[]): void {
    if (!this.o.toolCalls) {
      this.messages.push({ role: 'assistant', content: msg.content ?? '' });
      return;
    }
    this.messages.push({
      role: 'assistant',
      content: msg.content ?? null,
      tool_calls: actions.map((a) => ({ id: a.id, type: 'function' as const, function: { name: a.name, arguments: typeof a.args === 'string' ? a.args : JSON.stringify(a.args ?? {}) } })),
    });
  }

  /** The same action N times in a row: warn once (the returned text); the next time, stop. */
  private repetition(actions: Action[], turn: number, step: Step): string | null {
    const key = actionKey(actions);
    this.streak = key === this.lastKey ? this.streak + 1 : 1;
    this.lastKey = key;
    if (this.streak < this.o.repeatLimit) return null;
    if (this.warned) {
      this.o.traj.write({ ...step, stopped: 'repeated_action' });
      this.log(`[turn ${turn}] the same action again after the warning: stopping`);
      throw new Stop('repeated_action');
    }
    this.warned = true;
    return this.o.prompts.fill('repeat_warning', { count: this.streak });
  }

  /** Run the actions as tools and send back their observations. */
  private async execute(actions: Action[], warning: string | null, turn: number, step: Step) {
    const { tools, prompts } = this.o;
    const calls: Array<Record<string, unknown>> = [];
    let passed = false;
    for (const a of actions) {
      let out: ToolOutcome;
      try {
        out = a.formatError
          ? { output: prompts.fill('format_error', { reason: a.formatError }), ok: false, decidingPassed: false, duration_s: 0 }
          : await tools.call(a.name, a.args);
      } catch (err) {
        this.o.traj.write({ ...step, calls, error: { stop_reason: 'harness_error', message: (err as Error).message } });
        throw err;
      }
      passed ||= out.decidingPassed;
      let text = out.output;
      if (warning && a === actions[actions.length - 1]) text = `${text}\n\n${warning}`;
      if (this.o.toolCalls) this.messages.push({ role: 'tool', tool_call_id: a.id, content: text });
      else this.messages.push({ role: 'user', content: a.formatError ? text : prompts.fill('observation_text', { name: a.name, output: text }) });
      calls.push({ id: a.id, name: a.name, arguments: a.args, ok: out.ok, duration_s: out.duration_s, output: text });
      this.log(`[turn ${turn}] ${a.name || '(unparsed action)'} ${out.duration_s.toFixed(2)}s — ${firstLine(text)}`);
    }
    return { calls, passed };
  }
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
