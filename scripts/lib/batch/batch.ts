/**
 * Many runs: a worker pool over tasks, skipping what is already done (by
 * cache key: task, image and patch), a live progress line, Ctrl-C that stops
 * cleanly, and a summary with counts, resolved rate and duration percentiles.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { patchBytes } from '../core/diff.js';
import { EXIT_CODES, errorMessage, HarnessError } from '../core/errors.js';
import { ensureImage, resolveImage } from '../engine/images.js';
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
}

export interface BatchEntry {
  task_id: string;
  status: RunStatus;
  resolved: boolean;
  duration_s: number;
  skipped: boolean;
  result_file: string | null;
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

/** How one item ended: run, recorded without a run, or skipped as done before. */
interface ItemOutcome {
  result: RunResult;
  file: string | null;
  how: 'ran' | 'recorded' | 'skipped';
}

/** One item: skipped when its cache key is done, recorded when it has no patch to run, else run. */
async function runItem(item: BatchItem, done: Map<string, { result: RunResult; file: string }>, opts: BatchOptions): Promise<ItemOutcome> {
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
      : await runTask(item.task, { cfg: opts.cfg, image: opts.image, patch: item.patch, timeouts: opts.timeouts, signal: opts.signal });
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
  ) {
    this.entries = new Array(total);
  }

  note(i: number, { result: r, file, how }: ItemOutcome): void {
    const skipped = how === 'skipped';
    this.entries[i] = { task_id: r.task_id, status: r.status, resolved: isResolved(r), duration_s: r.duration_s, skipped, result_file: file };
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
    return `[${this.finished}/${this.total}] resolved ${this.resolved} · failed ${failed} · errors ${errors}${interrupted}${skipped ? ` · skipped ${skipped}` : ''} · ${fmt(elapsed)} elapsed${left ? eta : ''}`;
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

/** The image a task's cache key names; a prebuilt instance image is pulled here (once per image) when missing. */
function imageOf(task: Task, opts: BatchOptions) {
  const name = opts.image ?? task.image ?? null;
  if (!(isInstanceTask(task) && task.prebuilt)) return resolveImage(name);
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
  return lines.join('\n');
}
