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
import { resolveImage } from '../engine/images.js';
import { writeJsonAtomic, type RunResult } from '../run/result.js';
import { cacheKey, effectiveTimeouts } from '../run/keys.js';
import { recordBadInput } from '../run/outcome.js';
import { runTask } from '../run/run-task.js';
import { lockRunsDir } from './lock.js';
import type { PatchInput, RunStatus, Task } from '../core/types.js';
import { sha256 } from '../core/values.js';

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
      result = JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult;
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
  const started = performance.now();
  const done = opts.redoExisting ? new Map() : indexDone(opts.cfg.runsDir);
  const entries: BatchEntry[] = new Array(items.length);
  const durations: number[] = [];
  const counts: Partial<Record<RunStatus, number>> = {};
  const tokens = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let anyTokens = false;
  let finished = 0;
  let ran = 0;
  let skipped = 0;
  let resolved = 0;

  const note = (i: number, r: RunResult, file: string | null, wasSkipped: boolean) => {
    entries[i] = { task_id: r.task_id, status: r.status, resolved: isResolved(r), duration_s: r.duration_s, skipped: wasSkipped, result_file: file };
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (isResolved(r)) resolved++;
    if (!wasSkipped) durations.push(r.duration_s);
    if (r.usage) {
      anyTokens = true;
      tokens.prompt_tokens += r.usage.prompt_tokens;
      tokens.completion_tokens += r.usage.completion_tokens;
      tokens.total_tokens += r.usage.total_tokens;
    }
    finished++;
    opts.progress(progressLine(), false);
  };

  const progressLine = () => {
    const elapsed = (performance.now() - started) / 1000;
    const failed = (counts.failed ?? 0) + (counts.patch_failed ?? 0) + (counts.patch_rejected ?? 0);
    const errors = (counts.error ?? 0) + (counts.timeout ?? 0);
    const interrupted = counts.interrupted ? ` · interrupted ${counts.interrupted}` : '';
    const left = items.length - finished;
    // Throughput so far, parallelism included; skipped tasks cost nothing and do not count.
    const rate = (finished - skipped) / Math.max(elapsed, 1e-3);
    const eta = finished - skipped > 0 ? ` · ETA ${fmt(left / rate)}` : '';
    return `[${finished}/${items.length}] resolved ${resolved} · failed ${failed} · errors ${errors}${interrupted}${skipped ? ` · skipped ${skipped}` : ''} · ${fmt(elapsed)} elapsed${left ? eta : ''}`;
  };

  let next = 0;
  const worker = async () => {
    while (!opts.signal.aborted) {
      const i = next++;
      if (i >= items.length) return;
      const item = items[i]!;
      try {
        const image = await resolveImage(opts.image ?? item.task.image ?? null);
        const timeouts = effectiveTimeouts(opts.cfg, item.task, opts.timeouts);
        const key = cacheKey(item.task, image, patchKey(item.patch), timeouts, opts.mode);
        const hit = done.get(key);
        if (hit) {
          skipped++;
          note(i, hit.result, hit.file, true);
          continue;
        }
        if (item.patch instanceof HarnessError) {
          const { result, resultFile } = recordBadInput(item.task, opts.cfg, item.patch, key);
          note(i, result, resultFile, false);
          continue;
        }
        ran++;
        if (opts.runOne) {
          const { result, resultFile } = await opts.runOne(item, opts.cfg, opts.signal);
          note(i, result, resultFile, false);
        } else {
          const { result, resultFile } = await runTask(item.task, {
            cfg: opts.cfg,
            image: opts.image,
            patch: item.patch,
            timeouts: opts.timeouts,
            signal: opts.signal,
          });
          note(i, result, resultFile, false);
        }
      } catch (err) {
        // One task's infrastructure failure (image missing...) is that task's result, not the batch's end.
        const e = err instanceof HarnessError ? err : new HarnessError('internal', errorMessage(err));
        const { result, resultFile } = recordBadInput(item.task, opts.cfg, e);
        note(i, result, resultFile, false);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  opts.progress(progressLine(), true);

  const tasks = entries.filter(Boolean);
  return {
    total: items.length,
    ran,
    skipped_existing: skipped,
    interrupted: opts.signal.aborted,
    counts,
    resolved,
    resolved_rate: tasks.length ? Math.round((resolved / tasks.length) * 10000) / 10000 : 0,
    duration_s: { p50: percentile(durations, 50), p95: percentile(durations, 95), max: Math.max(0, ...durations) },
    wall_s: Math.round((performance.now() - started) / 10) / 100,
    workers: opts.workers,
    tokens: anyTokens ? tokens : null,
    tasks,
  };
}

/** The patch part of a cache key: the hash of the patch's bytes, as result.json records it, or of the bad input's message. */
function patchKey(patch: PatchInput | HarnessError | null): string | null {
  if (patch instanceof HarnessError) return `bad-input:${sha256(patch.message)}`;
  return patch ? sha256(patchBytes(patch.text, patch.encoding)) : null;
}

export function writeSummary(file: string, summary: BatchSummary): void {
  writeJsonAtomic(file, summary);
}

/** A short table for the terminal. */
export function summaryTable(s: BatchSummary): string {
  const lines = [
    `tasks ${s.total} · ran ${s.ran} · skipped (done before) ${s.skipped_existing}${s.interrupted ? ' · INTERRUPTED' : ''}`,
    `resolved ${s.resolved}/${s.tasks.length} (${(s.resolved_rate * 100).toFixed(1)}%) · p50 ${s.duration_s.p50.toFixed(1)}s · p95 ${s.duration_s.p95.toFixed(1)}s · wall ${s.wall_s.toFixed(1)}s`,
    ...Object.entries(s.counts).map(([k, v]) => `  ${k.padEnd(15)} ${v}`),
  ];
  if (s.tokens) lines.push(`tokens ${s.tokens.total_tokens} (prompt ${s.tokens.prompt_tokens}, completion ${s.tokens.completion_tokens})`);
  return lines.join('\n');
}
