/**
 * The result of one run: its schema, its fixed key order and its atomic
 * write. Consumers diff these files across runs, so the order of keys is
 * fixed here and nothing time-of-day-dependent goes inside.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Grading } from '../testing/grading.js';
import type { RunStatus, StageName, StageRecord, TestSummary } from '../core/types.js';

export interface ImageRecord {
  name: string;
  python: string;
  flavour: string;
}

export interface PatchRecord {
  /** Where the patch came from: a file path, "-" for stdin, "task" for the task's own. */
  source: string;
  sha256: string;
  bytes: number;
  files: string[];
  /** Which link of the apply chain applied it (null when rejected or failed). */
  applied_with: string | null;
}

export interface RunResult {
  task_id: string;
  repo: string;
  ref: string;
  pytest_k: string | null;
  status: RunStatus;
  duration_s: number;
  /** Last lines of the output that decided the status. */
  tail: string;
  /** The process exit code that goes with `status` (README, "Exit codes"). */
  exit_code: number;
  /** The stage that ran out of time, when status is "timeout". */
  timeout_stage: StageName | null;
  /** One line saying what went wrong, when status is not "passed"/"failed". */
  error: string | null;
  /** Commit actually checked out. */
  head: string | null;
  image: ImageRecord | null;
  patch: PatchRecord | null;
  stages: StageRecord[];
  /** Tests before the patch (only when a patch was given). */
  before: TestSummary | null;
  /** The deciding test run (after the patch, if any). */
  after: TestSummary | null;
  // SWE-bench instance runs only (absent otherwise):
  /** SWE-bench's verdict: every FAIL_TO_PASS test passes and every PASS_TO_PASS test still does. */
  resolved?: boolean;
  /** Per-id outcome, the shape of SWE-bench's report `tests_status`. */
  grading?: Grading;
  /** Hash of everything that produced this result (task, image, patch): run-many's "already done" key. */
  cache_key?: string;
  // Runner-agent runs only (absent from plain runs):
  /** Model name as sent to the server. */
  model?: string;
  /** Model calls made. */
  turns?: number;
  /** Tokens summed over every model call. */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Why the agent stopped (README, "Runner agent"). */
  stop_reason?: string;
}

/** The same result with keys in the documented order, whatever order they were set in. */
export function ordered(r: RunResult): RunResult {
  return {
    task_id: r.task_id,
    repo: r.repo,
    ref: r.ref,
    pytest_k: r.pytest_k,
    status: r.status,
    duration_s: r.duration_s,
    tail: r.tail,
    exit_code: r.exit_code,
    timeout_stage: r.timeout_stage,
    error: r.error,
    head: r.head,
    image: r.image,
    patch: r.patch,
    stages: r.stages,
    before: r.before,
    after: r.after,
    ...(r.resolved !== undefined ? { resolved: r.resolved } : {}),
    ...(r.grading !== undefined ? { grading: r.grading } : {}),
    ...(r.cache_key !== undefined ? { cache_key: r.cache_key } : {}),
    ...(r.model !== undefined ? { model: r.model } : {}),
    ...(r.turns !== undefined ? { turns: r.turns } : {}),
    ...(r.usage !== undefined ? { usage: r.usage } : {}),
    ...(r.stop_reason !== undefined ? { stop_reason: r.stop_reason } : {}),
  };
}

/** Write JSON atomically: a reader sees the old file or the whole new one, never half. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export function writeResult(runDir: string, r: RunResult): string {
  const file = path.join(runDir, 'result.json');
  writeJsonAtomic(file, ordered(r));
  return file;
}
