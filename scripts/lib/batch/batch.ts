/**
 * Many runs: a worker pool over tasks — on one engine, or spread over several
 * with so many slots each, an engine that fails handing its tasks to the others —
 * skipping what is already done (by cache key: task, image and patch), a live
 * progress line, Ctrl-C that stops cleanly, and a summary with counts, resolved
 * rate and duration percentiles.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { patchBytes } from '../core/diff.js';
import { EXIT_CODES, errorMessage, HarnessError } from '../core/errors.js';
import { onEngine } from '../engine/docker.js';
import type { Engine } from '../engine/engine.js';
import { ensureImage, resolveRunImage } from '../engine/images.js';
import { isInstanceTask } from '../task/instances.js';
import { readResult, writeJsonAtomic, type RunResult } from '../run/result.js';
import { cacheKey, effectiveTimeouts } from '../run/keys.js';
import { recordBadInput, recordEmptyPrediction } from '../run/outcome.js';
import { runTask } from '../run/run-task.js';
import { lockRunsDir } from './lock.js';
import type { PatchInput, RunStatus, Task } from '../core/types.js';
import { durationS, sha256 } from '../core/values.js';

export interface BatchItem {
  task: Task;
  /** The patch, or an error saying why the task has none (it is recorded, not run). */
  patch: PatchInput | null | HarnessError;
}

export interface BatchOptions {
  cfg: HarnessConfig;
  workers: number;
  image: string | null;
  timeouts: Partial<StageTimeouts>;
  redoExisting: boolean;
  signal: AbortSignal;
  /** Replace the live progress line (TTY) or print it (not a TTY). */
  progress: (line: string, final: boolean) => void;
  /** Run one item some other way (the agent); default runTask. */
  runOne?: (item: BatchItem, cfg: HarnessConfig, signal: AbortSignal) => Promise<{ result: RunResult; resultFile: string }>;
  /** Mode string folded into the cache key (e.g. the agent's model). */
  mode?: string;
  /**
   * Several engines at once (run-many --engine A=8 --engine B=16): each runs
   * up to `slots` tasks; an engine that does not answer, or is lost mid-run,
   * hands its tasks to the others. Default: the default engine with `workers` slots.
   */
  engines?: EngineSlots[];
}

export interface EngineSlots {
  engine: Engine;
  slots: number;
}

/** One engine's part of a batch over several (summary.engines). */
export interface EngineReport {
  engine: string;
  slots: number;
  /** Runs it made that the summary counts (not lost ones, not results skipped or recorded without a run). */
  ran: number;
  /** Why it was given up (it did not answer, or went away mid-run), or null. */
  lost: string | null;
}

/** A run lost with its engine: its result (an `error` naming the engine) stays on disk; the task ran again elsewhere. */
export interface MovedRun {
  task_id: string;
  engine: string;
  result_file: string | null;
}

export interface BatchEntry {
  task_id: string;
  status: RunStatus;
  resolved: boolean;
  duration_s: number;
  skipped: boolean;
  result_file: string | null;
  /** The engine that ran it (batches over several engines). */
  engine?: string;
}

export interface BatchSummary {
  total: number;
  ran: number;
  /** Results written without a run: bad input, SWE-bench's empty predictions. */
  recorded: number;
  skipped_existing: number;
  interrupted: boolean;
  counts: Partial<Record<RunStatus, number>>;
  resolved: number;
  resolved_rate: number;
  duration_s: { p50: number; p95: number; max: number };
  wall_s: number;
  workers: number;
  tokens: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  tasks: BatchEntry[];
  /** Batches over several engines: each engine's slots, runs and loss. */
  engines?: EngineReport[];
  /** Batches over several engines: runs lost with their engine, whose tasks ran again (the re-run is the one in `tasks`). */
  moved?: MovedRun[];
}

/** `result.json` files under a runs dir, by cache key (the newest wins). */
export function indexDone(runsDir: string): Map<string, { result: RunResult; file: string }> {
  const done = new Map<string, { result: RunResult; file: string }>();
  if (!fs.existsSync(runsDir)) return done;
  for (const dir of fs.readdirSync(runsDir).sort()) {
    const file = path.join(runsDir, dir, 'result.json');
    let result: RunResult;
    try {
      result = readResult(file, { details: false }); // the compact layout or the older one
    } catch {
      continue; // not a run dir, or a result a crash cut short
    }
    if (result.cache_key && isFinal(result)) done.set(result.cache_key, { result, file });
  }
  return done;
}

/**
 * Interrupted or infrastructure-failed runs are not "done": they run again.
 * Bad input (an error with the usage exit code) is: it would fail the same way.
 */
function isFinal(r: RunResult): boolean {
  if (r.status === 'interrupted') return false;
  return r.status !== 'error' || r.exit_code === EXIT_CODES.usage;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function fmt(s: number): string {
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

const isResolved = (r: RunResult) => r.resolved ?? r.status === 'passed';

/**
 * Run the items on a pool of workers, holding the runs dir for the whole batch.
 * @throws HarnessError('usage') when another run-many is using the runs dir.
 */
export async function runBatch(items: BatchItem[], opts: BatchOptions): Promise<BatchSummary> {
  const release = lockRunsDir(opts.cfg.runsDir);
  try {
    return await runItems(items, opts);
  } finally {
    release();
  }
}

async function runItems(items: BatchItem[], opts: BatchOptions): Promise<BatchSummary> {
  const done = opts.redoExisting ? new Map() : indexDone(opts.cfg.runsDir);
  if (!opts.engines) {
    const tally = new Tally(items.length, opts.workers, (line, final) => opts.progress(line, final));
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < items.length && !opts.signal.aborted; i = next++) {
        tally.note(i, await runItem(items[i]!, done, opts));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
    return tally.summary(opts.signal.aborted);
  }
  return runOnEngines(items, opts.engines, done, opts);
}

/** An engine of the batch, as it goes. */
interface EngineState {
  engine: Engine;
  slots: number;
  running: number;
  ran: number;
  lost: string | null;
}

/**
 * The items over several engines: one queue, `slots` workers per engine. A
 * result whose error names its engine (or says an engine is down) while the
 * engine no longer answers marks the engine lost: that run's result stays on
 * disk (an `error` naming the engine, listed in `moved`), its task goes back
 * to the queue for the others, and the lost engine takes no more. Each item
 * is noted once, from the run that is not lost; with no engine left, the
 * lost result is the item's and items never started are recorded as errors.
 */
async function runOnEngines(items: BatchItem[], engines: EngineSlots[], done: DoneIndex, opts: BatchOptions): Promise<BatchSummary> {
  const states: EngineState[] = engines.map((e) => ({ engine: e.engine, slots: e.slots, running: 0, ran: 0, lost: null }));
  const moved: MovedRun[] = [];
  const perEngine = () => ` · ${states.map((s) => `${s.engine.label} ${s.ran}${s.running ? ` +${s.running}` : ''}${s.lost ? ' lost' : ''}`).join(' · ')}`;
  const totalSlots = states.reduce((n, s) => n + s.slots, 0);
  const tally = new Tally(items.length, totalSlots, (line, final) => opts.progress(line, final), perEngine);
  const queue = new WorkQueue(items.map((_, i) => i), opts.signal);
  const alive = () => states.filter((s) => !s.lost);

  const lose = (s: EngineState, why: string) => {
    if (s.lost) return;
    s.lost = why;
    const others = alive().map((o) => o.engine.label);
    opts.progress(`engine ${s.engine.label} lost (${why}): ${others.length ? `its tasks move to ${others.join(', ')}` : 'no engine left'}`, false);
  };
  // An engine that does not answer at the start takes no task.
  await Promise.all(states.map((s) => s.engine.check().catch((err: unknown) => lose(s, errorMessage(err)))));

  const worker = async (s: EngineState) => {
    for (;;) {
      if (s.lost) return;
      const i = await queue.take();
      if (i === undefined) return;
      if (s.lost) {
        queue.putBack(i);
        return;
      }
      s.running++;
      const out = await onEngine(s.engine, () => runItem(items[i]!, done, { ...opts, engine: s.engine }));
      s.running--;
      if (out.how !== 'skipped' && (await lostWith(out.result, s))) {
        lose(s, out.result.error ?? 'went away');
        if (alive().length > 0 && !opts.signal.aborted) {
          moved.push({ task_id: out.result.task_id, engine: s.engine.label, result_file: out.file });
          queue.putBack(i);
          continue;
        }
      }
      queue.finished();
      // Only a run names an engine: a skipped or recorded result did not run there.
      if (out.how === 'ran') s.ran++;
      tally.note(i, out, out.how === 'ran' ? s.engine.label : undefined);
    }
  };
  await Promise.all(states.flatMap((s) => Array.from({ length: s.slots }, () => worker(s))));
  // Every engine lost: the items never started are recorded as such (an engine error, run again by a later batch).
  if (!opts.signal.aborted) {
    for (const i of queue.left()) {
      const why = states.map((s) => `${s.engine.label}: ${s.lost}`).join('; ');
      tally.note(i, recorded(recordBadInput(items[i]!.task, opts.cfg, new HarnessError('engine', `no engine left to run it (${why})`))));
    }
  }
  const summary = tally.summary(opts.signal.aborted);
  return { ...summary, engines: states.map((s) => ({ engine: s.engine.label, slots: s.slots, ran: s.ran, lost: s.lost })), moved };
}

/** Whether a run's result says its engine went away, and the engine indeed no longer answers. */
async function lostWith(r: RunResult, s: EngineState): Promise<boolean> {
  if (r.status !== 'error') return false;
  if (!(r.error ?? '').includes(s.engine.label) && r.exit_code !== EXIT_CODES.engine) return false;
  if (s.lost) return true;
  try {
    await s.engine.check();
    return false;
  } catch {
    return true;
  }
}

/**
 * Item indices for the workers of several engines: a worker waits while the
 * queue is empty but runs are in flight (a lost engine may hand one back).
 */
class WorkQueue {
  private inFlight = 0;
  private wake: Array<() => void> = [];

  constructor(
    private readonly pending: number[],
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.notify(), { once: true });
  }

  /** The next index, or undefined when nothing is left to run (or Ctrl-C). */
  async take(): Promise<number | undefined> {
    for (;;) {
      if (this.signal.aborted) return undefined;
      const i = this.pending.shift();
      if (i !== undefined) {
        this.inFlight++;
        return i;
      }
      if (this.inFlight === 0) return undefined;
      await new Promise<void>((r) => this.wake.push(r));
    }
  }

  /** A taken index is done with. */
  finished(): void {
    this.inFlight--;
    this.notify();
  }

  /** A taken index goes back, first in line. */
  putBack(i: number): void {
    this.inFlight--;
    this.pending.unshift(i);
    this.notify();
  }

  /** Indices never run. */
  left(): number[] {
    return [...this.pending];
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    w.forEach((r) => r());
  }
}

type DoneIndex = Map<string, { result: RunResult; file: string }>;

/** How one item ended: run, recorded without a run, or skipped as done before. */
interface ItemOutcome {
  result: RunResult;
  file: string | null;
  how: 'ran' | 'recorded' | 'skipped';
}

/** One item: skipped when its cache key is done, recorded when it has no patch to run, else run. */
async function runItem(item: BatchItem, done: DoneIndex, opts: BatchOptions & { engine?: Engine }): Promise<ItemOutcome> {
  try {
    const image = await imageOf(item.task, opts);
    const timeouts = effectiveTimeouts(opts.cfg, item.task, opts.timeouts);
    const key = cacheKey(item.task, image, patchKey(item.patch), timeouts, opts.mode);
    const hit = done.get(key);
    if (hit) return { result: hit.result, file: hit.file, how: 'skipped' };
    if (item.patch instanceof HarnessError) return recorded(recordBadInput(item.task, opts.cfg, item.patch, key));
    // SWE-bench's empty patch: recorded, not run.
    if (item.patch?.empty_prediction) return recorded(recordEmptyPrediction(item.task, opts.cfg, item.patch, key));
    const out = opts.runOne
      ? await opts.runOne(item, opts.cfg, opts.signal)
      : await runTask(item.task, { cfg: opts.cfg, image: opts.image, patch: item.patch, timeouts: opts.timeouts, signal: opts.signal, engine: opts.engine });
    return { result: out.result, file: out.resultFile, how: 'ran' };
  } catch (err) {
    // One task's infrastructure failure (image missing...) is that task's result, not the batch's end.
    const e = err instanceof HarnessError ? err : new HarnessError('internal', errorMessage(err));
    return recorded(recordBadInput(item.task, opts.cfg, e));
  }
}

function recorded(out: { result: RunResult; resultFile: string }): ItemOutcome {
  return { result: out.result, file: out.resultFile, how: 'recorded' };
}

/** The batch's counts as results come in, its live progress line, and its summary. */
class Tally {
  private readonly started = performance.now();
  private readonly entries: BatchEntry[];
  private readonly durations: number[] = [];
  private readonly counts: Partial<Record<RunStatus, number>> = {};
  private readonly tokens = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  private anyTokens = false;
  private readonly how = { ran: 0, recorded: 0, skipped: 0 };
  private finished = 0;
  private resolved = 0;

  constructor(
    private readonly total: number,
    private readonly workers: number,
    private readonly progress: (line: string, final: boolean) => void,
    /** More of the progress line (each engine's counts). */
    private readonly more: () => string = () => '',
  ) {
    this.entries = new Array(total);
  }

  note(i: number, { result: r, file, how }: ItemOutcome, engine?: string): void {
    const skipped = how === 'skipped';
    this.entries[i] = { task_id: r.task_id, status: r.status, resolved: isResolved(r), duration_s: r.duration_s, skipped, result_file: file, ...(engine ? { engine } : {}) };
    this.counts[r.status] = (this.counts[r.status] ?? 0) + 1;
    this.how[how]++;
    if (isResolved(r)) this.resolved++;
    if (!skipped) this.durations.push(r.duration_s);
    if (r.usage) {
      this.anyTokens = true;
      this.tokens.prompt_tokens += r.usage.prompt_tokens;
      this.tokens.completion_tokens += r.usage.completion_tokens;
      this.tokens.total_tokens += r.usage.total_tokens;
    }
    this.finished++;
    this.progress(this.line(), false);
  }

  private line(): string {
    const c = this.counts;
    const elapsed = (performance.now() - this.started) / 1000;
    const failed = (c.failed ?? 0) + (c.patch_failed ?? 0) + (c.patch_rejected ?? 0);
    const errors = (c.error ?? 0) + (c.timeout ?? 0);
    const interrupted = c.interrupted ? ` · interrupted ${c.interrupted}` : '';
    const skipped = this.how.skipped;
    const left = this.total - this.finished;
    // Throughput so far, parallelism included; skipped tasks cost nothing and do not count.
    const rate = (this.finished - skipped) / Math.max(elapsed, 1e-3);
    const eta = this.finished - skipped > 0 ? ` · ETA ${fmt(left / rate)}` : '';
    return `[${this.finished}/${this.total}] resolved ${this.resolved} · failed ${failed} · errors ${errors}${interrupted}${skipped ? ` · skipped ${skipped}` : ''} · ${fmt(elapsed)} elapsed${left ? eta : ''}${this.more()}`;
  }

  summary(interrupted: boolean): BatchSummary {
    this.progress(this.line(), true);
    const tasks = this.entries.filter(Boolean);
    const d = this.durations;
    return {
      total: this.total,
      ran: this.how.ran,
      recorded: this.how.recorded,
      skipped_existing: this.how.skipped,
      interrupted,
      counts: this.counts,
      resolved: this.resolved,
      resolved_rate: tasks.length ? Math.round((this.resolved / tasks.length) * 10000) / 10000 : 0,
      duration_s: { p50: percentile(d, 50), p95: percentile(d, 95), max: Math.max(0, ...d) },
      wall_s: durationS(this.started),
      workers: this.workers,
      tokens: this.anyTokens ? this.tokens : null,
      tasks,
    };
  }
}

/** The image a task's cache key names, as its run resolves it; a prebuilt instance image is pulled onto the engine (once per image) when missing. */
function imageOf(task: Task, opts: BatchOptions) {
  const name = opts.image ?? task.image ?? null;
  if (!(isInstanceTask(task) && task.prebuilt)) return resolveRunImage(name);
  return ensureImage(name ?? '', { timeoutS: opts.cfg.pullTimeoutSeconds, log: (line) => opts.progress(line, false), signal: opts.signal });
}

/** The patch part of a cache key: the hash of the patch's bytes, as result.json records it, or of the bad input's message. */
function patchKey(patch: PatchInput | HarnessError | null): string | null {
  if (patch instanceof HarnessError) return `bad-input:${sha256(patch.message)}`;
  // Not the hash of "": an empty patch given as a file is a rejected patch, a different result.
  if (patch?.empty_prediction) return 'empty-prediction';
  return patch ? sha256(patchBytes(patch.text, patch.encoding)) : null;
}

export function writeSummary(file: string, summary: BatchSummary): void {
  writeJsonAtomic(file, summary);
}

/** A short table for the terminal. */
export function summaryTable(s: BatchSummary): string {
  const lines = [
    `tasks ${s.total} · ran ${s.ran} · recorded without a run ${s.recorded} · skipped (done before) ${s.skipped_existing}${s.interrupted ? ' · INTERRUPTED' : ''}`,
    `resolved ${s.resolved}/${s.tasks.length} (${(s.resolved_rate * 100).toFixed(1)}%) · p50 ${s.duration_s.p50.toFixed(1)}s · p95 ${s.duration_s.p95.toFixed(1)}s · wall ${s.wall_s.toFixed(1)}s`,
    ...Object.entries(s.counts).map(([k, v]) => `  ${k.padEnd(15)} ${v}`),
  ];
  if (s.tokens) lines.push(`tokens ${s.tokens.total_tokens} (prompt ${s.tokens.prompt_tokens}, completion ${s.tokens.completion_tokens})`);
  for (const e of s.engines ?? []) {
    const moved = (s.moved ?? []).filter((m) => m.engine === e.engine).length;
    lines.push(`engine ${e.engine}: ${e.slots} slot(s), ran ${e.ran}${e.lost ? ` · LOST (${e.lost})${moved ? `, ${moved} run(s) moved to the others` : ''}` : ''}`);
  }
  return lines.join('\n');
}
